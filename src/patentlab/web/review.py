"""Review pages and JSON API: the queue, agreement, gold export, and login.

Every write needs a logged-in reviewer: a session cookie plus its CSRF token (forms carry it as
``csrf_token``, JSON requests as the ``X-CSRF-Token`` header), or an API token from
``patentlab review add-user --token`` sent as ``Authorization: Bearer …`` (not a cookie, so a
foreign page cannot make the browser send it, and CSRF does not arise). A reviewer only ever
writes as themself. Bodies are read up to ``settings.max_body_bytes`` and every field is bounded.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from patentlab.errors import PatentlabError
from patentlab.web import auth
from patentlab.web.templating import templates

router = APIRouter(prefix="/review", tags=["review"])

MAX_FIELD_CHARS = {
    "name": 64,
    "password": 256,
    "claim_id": 128,
    "note": 2000,
    "request_id": 64,
    "csrf_token": 128,
    "label": 16,
    "reviewer": 64,
    "next": 256,
}
LABELS = {"1": 1, "green": 1, "0": 0, "not_green": 0, "not green": 0}
QUEUE_BATCH = 20
_store_lock = threading.Lock()


@dataclass(frozen=True)
class Actor:
    """Who is making this request and how they proved it."""

    name: str
    role: str
    #: The session nonce (cookie login) or None (API token: no CSRF check needed).
    nonce: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _settings(request: Request):
    return request.app.state.settings


def get_store(request: Request):
    """The app's review store, opened on first use; None when no database is configured."""
    store = getattr(request.app.state, "review_store", None)
    if store is not None:
        return store
    url = _settings(request).review_db_url or os.environ.get("PATENTLAB_REVIEW_DB")
    if not url:
        return None
    with _store_lock:
        store = getattr(request.app.state, "review_store", None)
        if store is None:
            from patentlab.review.store import ReviewStore

            store = ReviewStore(url)
            request.app.state.review_store = store
    return store


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it grows past ``max_body_bytes``.

    A declared Content-Length over the limit never gets here (the app's middleware refuses it);
    this bounds bodies sent without one.
    """
    limit = _settings(request).max_body_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"request body over {limit} bytes")
    return bytes(body)


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form, one value per field, each within its size limit."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise HTTPException(415, "send the form as application/x-www-form-urlencoded")
    try:
        fields = parse_qs(
            (await read_body(request)).decode("utf-8"), keep_blank_values=True, max_num_fields=20
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "malformed form") from exc
    return _bounded({k: v[-1] for k, v in fields.items()})


async def read_json(request: Request) -> dict[str, Any]:
    """A JSON object body, each string field within its size limit."""
    try:
        data = json.loads(await read_body(request) or b"{}")
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "malformed JSON") from exc
    if not isinstance(data, dict):
        raise HTTPException(422, "send a JSON object")
    return _bounded(data)


def _bounded(fields: dict[str, Any]) -> dict[str, Any]:
    for key, value in fields.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS.get(key, 256):
            raise HTTPException(422, f"field '{key}' is over {MAX_FIELD_CHARS.get(key, 256)} characters")
    return fields


async def current_actor(request: Request, store) -> Actor | None:
    """The reviewer behind an API token or a valid session cookie, else None."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        info = await run_in_threadpool(store.reviewer_for_token, header[7:].strip())
        return Actor(info.name, info.role, None) if info else None
    session = auth.read_session(_settings(request).secret_key, request.cookies.get(auth.SESSION_COOKIE))
    if session is None:
        return None
    info = await run_in_threadpool(store.reviewer, session.reviewer)  # revoked reviewers lose access
    return Actor(info.name, info.role, session.nonce) if info else None


async def writer(request: Request, store, supplied_csrf: str | None, acting_for: str | None) -> Actor:
    """The actor of a write, after the auth, CSRF and acting-as-self checks."""
    actor = await current_actor(request, store)
    if actor is None:
        raise HTTPException(401, "log in first")
    if actor.nonce is not None and not auth.check_csrf(
        _settings(request).secret_key, actor.nonce, supplied_csrf
    ):
        raise HTTPException(403, "missing or wrong CSRF token")
    if acting_for not in (None, "", actor.name):
        raise HTTPException(403, "a reviewer can only record their own decisions")
    return actor


def _require_store(request: Request):
    store = get_store(request)
    if store is None:
        raise HTTPException(503, "no review database: start with 'patentlab serve --db URL'")
    return store


async def _form_write(request: Request, acting_for_field: str | None = None):
    """The store, form and actor of a form post, after the checks of :func:`writer`."""
    store = _require_store(request)
    form = await read_form(request)
    acting_for = form.get(acting_for_field) if acting_for_field else None
    return store, form, await writer(request, store, form.get("csrf_token"), acting_for)


async def _json_write(request: Request):
    """The store, JSON body and actor of an API write, after the checks of :func:`writer`."""
    store = _require_store(request)
    data = await read_json(request)
    acting_for = _optional_str(data, "reviewer")
    return store, data, await writer(request, store, request.headers.get("x-csrf-token"), acting_for)


async def _call(fn, *args: Any, **kwargs: Any) -> Any:
    """``fn`` (a store operation) in the thread pool, its errors as HTTP 404 (not found) or 422."""
    from patentlab.review.store import NotFound

    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except PatentlabError as exc:
        raise HTTPException(404 if isinstance(exc, NotFound) else 422, str(exc)) from exc


def _label(value: Any) -> int:
    if isinstance(value, bool) or (value not in (0, 1) and str(value).strip().lower() not in LABELS):
        raise HTTPException(422, "label must be 0 / 1 or green / not_green")
    return int(value) if value in (0, 1) else LABELS[str(value).strip().lower()]


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise HTTPException(422, f"field '{key}' must be a string")
    return value


# Pages ---------------------------------------------------------------------------------------


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A review template with a per-response CSP nonce: only this page's own script may run."""

    nonce = secrets.token_urlsafe(16)
    response = templates.TemplateResponse(
        request, name, {**context, "csp_nonce": nonce}, status_code=status_code
    )
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/review/login?next={quote(target[:200])}", status_code=303)


def _safe_next(value: str | None) -> str:
    # Only paths inside the review app: never an open redirect to another site.
    return (
        value
        if value and value.startswith("/review") and "//" not in value and "\\" not in value
        else "/review"
    )


class PageDetour(Exception):
    """Raised by :func:`review_page` when a page cannot be shown: the app answers ``response``
    instead (the setup page without a database, the login form without a session)."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass(frozen=True)
class ReviewPage:
    """What every logged-in review page needs: the store, the reviewer and a CSRF token."""

    store: Any
    actor: Actor
    csrf_token: str


async def review_page(request: Request) -> ReviewPage:
    """The dependency of every review page: a store, a cookie session and its CSRF token."""
    store = get_store(request)
    if store is None:
        raise PageDetour(render(request, "review/setup.html", {}, status_code=503))
    actor = await current_actor(request, store)
    if actor is None or actor.nonce is None:
        raise PageDetour(_to_login(request))
    return ReviewPage(store, actor, auth.csrf_token(_settings(request).secret_key, actor.nonce))


#: A page parameter of this type runs :func:`review_page` first.
LoggedInPage = Annotated[ReviewPage, Depends(review_page)]


@router.get("", response_class=HTMLResponse, include_in_schema=False)
async def queue_page(request: Request, page: LoggedInPage, claim: str | None = None) -> Response:
    first = claim[:128] if claim else None
    claims = await run_in_threadpool(page.store.pending, page.actor.name, limit=QUEUE_BATCH, first=first)
    progress = await run_in_threadpool(page.store.progress, page.actor.name)
    return render(
        request,
        "review/queue.html",
        {"actor": page.actor, "claims": claims, "progress": progress, "csrf_token": page.csrf_token},
    )


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_page(request: Request, next: str | None = None) -> Response:
    return _login_form(request, _safe_next(next), error=None)


def _login_form(request: Request, next_path: str, error: str | None, status_code: int = 200) -> Response:
    secret = _settings(request).secret_key
    nonce = secrets.token_urlsafe(16)
    response = render(
        request,
        "review/login.html",
        {"csrf_token": auth.csrf_token(secret, nonce), "next": next_path, "error": error},
        status_code=status_code,
    )
    response.set_cookie(
        auth.PRELOGIN_COOKIE,
        auth.sign(secret, "prelogin", {"n": nonce}),
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    store = _require_store(request)
    form = await read_form(request)
    secret = _settings(request).secret_key
    prelogin = auth.unsign(secret, "prelogin", request.cookies.get(auth.PRELOGIN_COOKIE)) or {}
    next_path = _safe_next(form.get("next"))
    if not auth.check_csrf(secret, prelogin.get("n"), form.get("csrf_token")):
        return _login_form(request, next_path, "The form expired; please try again.", status_code=403)
    info = await run_in_threadpool(store.authenticate, form.get("name", ""), form.get("password", ""))
    if info is None:
        return _login_form(request, next_path, "Wrong name or password.", status_code=401)
    value, _ = auth.new_session(secret, info.name)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        value,
        max_age=auth.SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(auth.PRELOGIN_COOKIE)
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    await _form_write(request)
    response = RedirectResponse("/review/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


@router.post("/decide", include_in_schema=False)
async def decide_form(request: Request) -> Response:
    """The no-JavaScript path: a plain form post, then back to the queue."""
    store, form, actor = await _form_write(request, "reviewer")
    await _call(
        store.decide,
        actor.name,
        form.get("claim_id", ""),
        _label(form.get("label")),
        note=form.get("note", ""),
        request_id=form.get("request_id") or None,
    )
    return RedirectResponse("/review", status_code=303)


@router.get("/agreement", response_class=HTMLResponse, include_in_schema=False)
async def agreement_page(request: Request, page: LoggedInPage) -> Response:
    report, conflicts = await run_in_threadpool(_agreement, page.store)
    return render(
        request,
        "review/agreement.html",
        {"actor": page.actor, "report": report, "conflicts": conflicts, "csrf_token": page.csrf_token},
    )


def _agreement(store) -> tuple[dict, list[str]]:
    from patentlab.review.agreement import agreement_report
    from patentlab.review.gold import gold_labels

    _, conflicts = gold_labels(store, "admin")
    return agreement_report(store.decisions()), conflicts


# JSON API -------------------------------------------------------------------------------------


async def _reader(request: Request):
    store = _require_store(request)
    actor = await current_actor(request, store)
    if actor is None:
        raise HTTPException(401, "log in first")
    return store, actor


@router.get("/api/queue")
async def api_queue(request: Request, limit: int = QUEUE_BATCH) -> dict[str, Any]:
    """The next claims for the logged-in reviewer, with the agents' arguments, and their progress."""
    store, actor = await _reader(request)
    claims = await run_in_threadpool(store.pending, actor.name, limit=max(1, min(limit, 100)))
    progress = await run_in_threadpool(store.progress, actor.name)
    return {"reviewer": actor.name, "claims": [asdict(c) for c in claims], "progress": progress}


@router.post("/api/decisions")
async def api_decide(request: Request) -> JSONResponse:
    """Record a label: ``{"claim_id", "label": 0|1, "note"?, "request_id"?}``.

    A repeated ``request_id`` returns the first answer with ``"duplicate": true``.
    """
    store, data, actor = await _json_write(request)
    claim_id = _optional_str(data, "claim_id")
    if not claim_id:
        raise HTTPException(422, "field 'claim_id' is required")
    label = _label(data.get("label"))
    note, request_id = _optional_str(data, "note") or "", _optional_str(data, "request_id")
    result = await _call(store.decide, actor.name, claim_id, label, note=note, request_id=request_id)
    progress = await run_in_threadpool(store.progress, actor.name)
    return JSONResponse(
        {**asdict(result), "reviewer": actor.name, "progress": progress},
        status_code=200 if result.duplicate else 201,
    )


@router.post("/api/undo")
async def api_undo(request: Request) -> dict[str, Any]:
    """Undo the reviewer's latest label (or the one on ``claim_id``); ``undone`` is null if none."""
    store, data, actor = await _json_write(request)
    result = await _call(
        store.undo,
        actor.name,
        claim_id=_optional_str(data, "claim_id"),
        request_id=_optional_str(data, "request_id"),
    )
    progress = await run_in_threadpool(store.progress, actor.name)
    return {"undone": asdict(result) if result else None, "reviewer": actor.name, "progress": progress}


@router.get("/api/agreement")
async def api_agreement(request: Request) -> dict[str, Any]:
    """Cohen's kappa, LLM override rate, per-reviewer counts, and the claims in conflict."""
    store, _ = await _reader(request)
    report, conflicts = await run_in_threadpool(_agreement, store)
    return {**report, "conflicts": conflicts}


@router.get("/export.{fmt}")
async def export(request: Request, fmt: str, policy: str = "admin") -> Response:
    """Gold labels with provenance as CSV or Parquet (admins only)."""
    store, actor = await _reader(request)
    if not actor.is_admin:
        raise HTTPException(403, "only admins export gold labels")
    if fmt not in ("csv", "parquet"):
        raise HTTPException(404, "export as .csv or .parquet")
    content = await _call(_export_bytes, store, fmt, policy)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/vnd.apache.parquet"
    headers = {
        "Content-Disposition": f'attachment; filename="gold_labels.{fmt}"',
        "Cache-Control": "no-store",
    }
    return Response(content, media_type=media, headers=headers)


def _export_bytes(store, fmt: str, policy: str) -> bytes:
    import io

    from patentlab.review.gold import gold_labels

    frame, _ = gold_labels(store, policy)
    buffer = io.BytesIO()
    if fmt == "csv":
        frame.to_csv(buffer, index=False)
    else:
        frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
