"""The bundled real patent sample (see ``PROVENANCE.md`` in this folder for sources and licences)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from patentlab.errors import PatentlabError


def data_dir() -> Path:
    """Return the directory that holds the bundled sample files."""
    return Path(str(resources.files(__name__)))


def sample_path(name: str) -> Path:
    """Return the path of one bundled file, e.g. ``sample_path("y02_claims_1100.csv")``."""
    path = data_dir() / name
    if not path.exists():
        available = sorted(p.name for p in data_dir().iterdir() if not p.name.startswith("_"))
        raise PatentlabError(f"no bundled file named '{name}'; available: {', '.join(available)}")
    return path
