"""Configuration of the web app, read from ``patentlab serve`` options or the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class WebSettings:
    """What the app serves and where it keeps its state.

    Each router reads only its own fields: ``search_index`` for search, ``review_db_url`` for
    review, ``classifier_model`` for classify. A router whose field is unset is still mounted,
    and its pages say what to configure.
    """

    search_index: Path | None = None
    review_db_url: str | None = None
    #: A publication folder (``patentlab publish run`` output) for the published-inventions pages.
    published: Path | None = None
    #: A classifier folder (``patentlab classify baseline`` / ``classify train``) for ``/classify``.
    classifier_model: Path | None = None
    #: Signs session cookies and CSRF tokens; a random one per process unless set, so sessions
    #: do not survive a restart unless ``PATENTLAB_SECRET_KEY`` is given.
    secret_key: str = field(
        default_factory=lambda: os.environ.get("PATENTLAB_SECRET_KEY") or secrets.token_hex(32)
    )
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 64 * 1024
