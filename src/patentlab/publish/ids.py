"""Stable content-hash ids: the same invention text always gets the same id.

The id hashes the *normalised* title, abstract and claims (Unicode NFKC, lower case, runs of
whitespace collapsed, claim numbers removed), so re-sampling the identical text, or a copy that
differs only in spacing or capitalisation, maps to the same id and is published once.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

ID_PREFIX = "PLOI-"  # patentlab obvious invention
ID_HEX_CHARS = 20  # 80 bits: collisions are negligible for any realistic number of inventions

_WS = re.compile(r"\s+")
_CLAIM_NUMBER = re.compile(r"^\s*\d+\s*[.)]\s*")


def normalise(text: str | None) -> str:
    """NFKC, lower case, single spaces, stripped."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().lower()


def content_id(title: str | None, abstract: str | None, claims: Iterable[str]) -> str:
    """``PLOI-`` + the first 20 hex digits of SHA-256 over the normalised fields."""
    parts = [normalise(title), normalise(abstract), *(normalise(_CLAIM_NUMBER.sub("", c)) for c in claims)]
    # A unit separator between fields, so moving text from one field to another changes the id.
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return ID_PREFIX + digest[:ID_HEX_CHARS].upper()
