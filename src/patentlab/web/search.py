"""Search pages for examiners and the search JSON API (``/search``, ``/api/search`` …).

Every page is a plain GET with the query in the URL, so any result list can be cited by its
address. Patent text is untrusted: templates autoescape it, and highlighted snippets are escaped
piece by piece here before ``<mark>`` tags are put around the matched spans.
"""

from __future__ import annotations

import datetime as dt
import threading
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from patentlab.corpus.schema import DOC_TYPES, Y02_CATEGORIES
from patentlab.errors import PatentlabError
from patentlab.index.filters import SearchFilters
from patentlab.index.hybrid import MAX_K, MODES, SearchIndex, SearchResults
from patentlab.web.templating import templates

router = APIRouter()
_open_lock = threading.Lock()

#: Defaults left out of canonical URLs, so equal queries get equal addresses.
DEFAULTS = {"k": "10", "mode": "hybrid", "kw": "1.0", "dw": "1.0"}
#: The order of parameters in a canonical URL.
URL_PARAMS = ("q", "like", "source", "green", "y02", "cpc", "date_from", "date_to", "mode", "k", "kw", "dw")


def get_index(request: Request) -> SearchIndex:
    """The app's index, opened read-only on first use; 503 when the app was started without one."""
    state = request.app.state
    index = getattr(state, "search_index", None)
    if index is None:
        path = state.settings.search_index
        if path is None:
            raise HTTPException(503, "no search index configured: start with 'patentlab serve --index DIR'")
        with _open_lock:
            index = getattr(state, "search_index", None)
            if index is None:
                try:
                    index = SearchIndex.open(path)
                except PatentlabError as exc:
                    raise HTTPException(503, str(exc)) from None
                state.search_index = index
    return index


@lru_cache(maxsize=1)
def y02_titles() -> dict[str, str]:
    """The official title of each Y02 category, for the filter menu and badges."""
    from patentlab.cpc import y02_entries

    titles = {e.code: e.title for e in y02_entries() if e.level == "subclass"}
    return {code: titles.get(code, code).capitalize() for code in Y02_CATEGORIES}


def highlight(text: str, spans: list[tuple[int, int]] | list[list[int]]) -> Markup:
    """``text`` as safe HTML with each span wrapped in ``<mark>``; everything else escaped."""
    out, pos = [], 0
    for start, end in sorted(tuple(s) for s in spans):
        if start < pos or end > len(text):
            continue
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def canonical_query(params: dict[str, Any]) -> str:
    """A stable query string: fixed order, defaults and blanks left out."""
    pairs = []
    for name in URL_PARAMS:
        value = params.get(name)
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is None or str(v).strip() == "" or DEFAULTS.get(name) == str(v):
                continue
            pairs.append((name, str(v)))
    return urlencode(pairs)


def _run(
    index: SearchIndex,
    *,
    q: str,
    like: str | None,
    k: int,
    mode: str,
    filters: SearchFilters,
    kw: float,
    dw: float,
) -> SearchResults:
    options = {"k": k, "mode": mode, "filters": filters, "weights": {"keyword": kw, "dense": dw}}
    if like:
        return index.similar(like, **options)
    return index.search(q, **options)


def _not_found(exc: PatentlabError) -> bool:
    return exc.field == "id"


# -- JSON API ---------------------------------------------------------------------------------------

Source = Annotated[list[str] | None, Query(description="granted, application, generated, unknown.")]
Green = Annotated[bool | None, Query(description="true: green only; false: not-green only.")]
Y02 = Annotated[str | None, Query(description="Y02 category, e.g. Y02E.")]
Cpc = Annotated[str | None, Query(description="CPC prefix, e.g. H01L or Y02E10/5.")]
K = Annotated[int, Query(ge=1, le=MAX_K, description="Number of results.")]
Mode = Annotated[str, Query(pattern=f"^({'|'.join(MODES)})$", description="hybrid, keyword or dense.")]
Weight = Annotated[float, Query(ge=0, le=100)]


def search_options(
    k: K = 10,
    mode: Mode = "hybrid",
    source: Source = None,
    green: Green = None,
    y02: Y02 = None,
    cpc: Cpc = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    kw: Weight = 1.0,
    dw: Weight = 1.0,
) -> dict[str, Any]:
    """The query parameters ``/api/search`` and ``/api/similar`` share (a FastAPI dependency).

    Filters stay raw here: they are parsed after the index is opened, so a missing index is a 503.
    """
    return {
        "k": k, "mode": mode, "kw": kw, "dw": dw,
        "filters": {"source": source, "green": green, "y02": y02, "cpc": cpc,
                    "date_from": date_from, "date_to": date_to},
    }  # fmt: skip


SearchOptions = Annotated[dict[str, Any], Depends(search_options)]


def _api_results(index: SearchIndex, q: str, like: str | None, options: dict[str, Any]) -> dict:
    try:
        filters = SearchFilters.parse(**options["filters"])
        results = _run(index, q=q, like=like, **{**options, "filters": filters})
    except PatentlabError as exc:
        raise HTTPException(404 if _not_found(exc) else 422, str(exc)) from None
    return results.to_dict()


@router.get("/api/search", tags=["search"], summary="Search patents and published inventions")
def api_search(
    request: Request,
    options: SearchOptions,
    q: Annotated[str, Query(max_length=100_000, description="A few words or a whole claim.")] = "",
) -> dict:
    """Hybrid (BM25 + dense, fused by reciprocal rank), keyword or dense search.

    Each hit carries its fused score, its rank in each list, a snippet and the character spans
    of the snippet that matched the query. An empty ``q`` returns no hits.
    """
    return _api_results(get_index(request), q, None, options)


@router.get("/api/similar/{doc_id:path}", tags=["search"], summary="Documents similar to one document")
def api_similar(request: Request, doc_id: str, options: SearchOptions) -> dict:
    """ "More like this": the nearest documents to ``doc_id`` by its vector and its rarest words."""
    return _api_results(get_index(request), "", doc_id, options)


@router.get("/api/doc/{doc_id:path}", tags=["search"], summary="One document with all its claims")
def api_doc(request: Request, doc_id: str) -> dict:
    """The stored document: title, abstract, every claim, CPC, Y02, dates and provenance."""
    doc = get_index(request).get(doc_id)
    if doc is None:
        raise HTTPException(404, f"no document with id '{doc_id}'")
    return doc


# -- pages ----------------------------------------------------------------------------------------


def _form_float(value: str | None, default: float) -> float:
    try:
        return max(0.0, min(float(value), 100.0)) if value not in (None, "") else default
    except ValueError:
        return default


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(request: Request) -> HTMLResponse:
    p = request.query_params
    form = {
        "q": p.get("q", ""),
        "like": p.get("like", ""),
        "source": [s for s in p.getlist("source") if s],
        "green": p.get("green", ""),
        "y02": p.get("y02", ""),
        "cpc": p.get("cpc", ""),
        "date_from": p.get("date_from", ""),
        "date_to": p.get("date_to", ""),
        "mode": p.get("mode", "hybrid") if p.get("mode") in MODES else "hybrid",
        "k": p.get("k", "10"),
        "kw": str(_form_float(p.get("kw"), 1.0)),
        "dw": str(_form_float(p.get("dw"), 1.0)),
    }
    context: dict[str, Any] = {
        "form": form,
        "results": None,
        "error": None,
        "like_doc": None,
        "doc_types": DOC_TYPES,
        "y02_titles": y02_titles(),
        "highlight": highlight,
        "permalink": "/search?" + canonical_query(form),
    }
    status = 200
    if form["q"].strip() or form["like"]:
        try:
            index = get_index(request)
            k = int(form["k"]) if form["k"].isdigit() else 10
            filters = SearchFilters.parse(
                source=form["source"],
                green={"true": True, "false": False}.get(form["green"]),
                y02=form["y02"],
                cpc=form["cpc"],
                date_from=form["date_from"],
                date_to=form["date_to"],
            )
            context["results"] = _run(
                index, q=form["q"], like=form["like"] or None, k=max(1, min(k, MAX_K)),
                mode=form["mode"], filters=filters, kw=float(form["kw"]), dw=float(form["dw"]),
            )  # fmt: skip
            if form["like"]:
                context["like_doc"] = index.get(form["like"])
        except PatentlabError as exc:
            context["error"], status = str(exc), 404 if _not_found(exc) else 400
        except HTTPException as exc:
            context["error"], status = exc.detail, exc.status_code
    return templates.TemplateResponse(request, "search/index.html", context, status_code=status)


@router.get("/search/doc/{doc_id:path}", response_class=HTMLResponse, include_in_schema=False)
def doc_page(request: Request, doc_id: str) -> HTMLResponse:
    doc = get_index(request).get(doc_id)
    if doc is None:
        context = {"error": f"No document with id '{doc_id}' in this index.", "doc": None}
        return templates.TemplateResponse(request, "search/doc.html", context, status_code=404)
    context = {"doc": doc, "error": None, "y02_titles": y02_titles()}
    return templates.TemplateResponse(request, "search/doc.html", context)
