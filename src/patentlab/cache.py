"""Where patentlab keeps converted models and embedding caches between runs."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "PATENTLAB_CACHE"


def cache_dir(*parts: str) -> Path:
    """Return (and create) ``$PATENTLAB_CACHE/<parts…>``, default ``~/.cache/patentlab``."""
    root = Path(os.environ.get(ENV_VAR) or Path.home() / ".cache" / "patentlab")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
