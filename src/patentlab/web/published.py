"""Published inventions in the web app: browse by date and CPC, one page per invention with its
obviousness map and inclusion proof, and ``GET /api/inventions/{id}``.

The pages read the publication folder's log (``patentlab serve --published DIR``), re-read it
when its files change, and show only what a signed tree head covers. The HTML fragments (meta
tags, map, proof) are the static site's own, so both say the same thing, escaped the same way.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from patentlab.claims import strip_number
from patentlab.errors import PatentlabError
from patentlab.publish.log import ENTRIES_FILE, HEADS_FILE, LOG_DIR, PublicationLog
from patentlab.publish.site import (
    cpc_html,
    group_by_cpc,
    group_by_date,
    meta_tags,
    obviousness_html,
    proof_html,
)
from patentlab.web.templating import templates

router = APIRouter()
_lock = threading.Lock()
#: Cited documents open in the search step's document page.
DOC_URL = "/search/doc/{id}"


def _stamp(folder: Path) -> tuple[int, ...]:
    out = []
    for name in (ENTRIES_FILE, HEADS_FILE):
        path = folder / LOG_DIR / name
        st = path.stat() if path.exists() else None
        out += [st.st_mtime_ns, st.st_size] if st else [0, 0]
    return tuple(out)


def get_log(request: Request) -> PublicationLog:
    """The configured folder's log (cached until its files change); 503 without one."""
    folder = getattr(request.app.state.settings, "published", None)
    if folder is None:
        raise HTTPException(
            503, "no publication folder configured: start with 'patentlab serve --published DIR'"
        )
    folder = Path(folder)
    stamp = _stamp(folder)
    state = request.app.state
    with _lock:
        cached = getattr(state, "published_log", None)
        if cached is None or cached[0] != stamp:
            try:
                cached = (stamp, PublicationLog.read(folder))
            except PatentlabError as exc:
                raise HTTPException(503, str(exc)) from None
            state.published_log = cached
    return cached[1]


def _signed(log: PublicationLog) -> list[dict[str, Any]]:
    return [e.record for e in log.entries[: log.signed_size]]


def _entry(log: PublicationLog, invention_id: str):
    entry = log.ids().get(invention_id)
    if entry is None or entry.index >= log.signed_size:
        raise HTTPException(404, f"no published invention {invention_id}")
    return entry


@router.get("/api/inventions", tags=["published"], summary="Published inventions, newest first")
def api_list(
    request: Request,
    cpc: str | None = Query(None, description="Only this CPC subclass or code prefix."),
    date: str | None = Query(None, description="Only this publication day (YYYY-MM-DD)."),
) -> dict[str, Any]:
    log = get_log(request)
    rows = [
        {"id": r["id"], "title": r.get("title"), "published_at": r["published_at"], "cpc": r.get("cpc") or []}
        for r in reversed(_signed(log))
        if (not cpc or any(c.startswith(cpc.upper()) for c in r.get("cpc") or []))
        and (not date or r["published_at"].startswith(date))
    ]
    return {"tree_head": log.head.to_dict() if log.head else None, "inventions": rows}


@router.get("/api/inventions/{invention_id}", tags=["published"], summary="One invention with its proof")
def api_invention(request: Request, invention_id: str) -> dict[str, Any]:
    """The published record (obviousness map and CPC included) and its inclusion proof."""
    log = get_log(request)
    entry = _entry(log, invention_id)
    return {
        "invention": entry.record,
        "contributor": entry.contributor,
        "bundle": entry.bundle,
        "proof": log.inclusion_at(entry.index),
    }


@router.get("/published", response_class=HTMLResponse, include_in_schema=False)
def browse(request: Request, by: str = Query("date", pattern="^(date|cpc)$")) -> HTMLResponse:
    log = get_log(request)
    records = list(reversed(_signed(log)))
    groups = group_by_date(records) if by == "date" else group_by_cpc(records)
    return templates.TemplateResponse(
        request,
        "published/index.html",
        {"groups": groups, "by": by, "count": len(records), "head": log.head},
    )


@router.get("/published/{invention_id}", response_class=HTMLResponse, include_in_schema=False)
def invention(request: Request, invention_id: str) -> HTMLResponse:
    log = get_log(request)
    entry = _entry(log, invention_id)
    record = entry.record
    url = str(request.url_for("invention", invention_id=invention_id))
    return templates.TemplateResponse(
        request,
        "published/invention.html",
        {
            "r": record,
            "contributor": entry.contributor,
            "claims": [strip_number(c)[1] for c in record["claims"]],  # patentlab/claims.py
            # Built by the static site's escaping helpers: safe to insert as they are.
            "meta": Markup(meta_tags(record, url, entry.contributor)),
            "cpc": Markup(cpc_html(record)),
            "map": Markup(obviousness_html(record, DOC_URL)),
            "proof": Markup(proof_html(log.inclusion_at(entry.index))),
        },
    )
