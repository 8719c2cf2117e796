"""Model files that ship inside pip packages, some of them split over several packages."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

from patentlab.errors import PatentlabError


def part_files(dist_names: Sequence[str], marker: str, *, missing: str) -> list[Path]:
    """The file whose name contains ``marker`` in each installed distribution, in the order given.

    ``missing`` is the advice shown when a distribution is not installed (``{name}`` is filled in).
    """
    parts = []
    for name in dist_names:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise PatentlabError(missing.format(name=name)) from None
        found = [f for f in dist.files or [] if marker in f.name]
        if len(found) != 1:
            raise PatentlabError(f"package {name} should hold one '{marker}' part, not {len(found)}")
        parts.append(Path(dist.locate_file(found[0])))
    return parts


def concatenate(parts: Sequence[Path], out: BinaryIO) -> None:
    """Write ``parts`` one after another to ``out``, in 16 MiB chunks."""
    for part in parts:
        with part.open("rb") as src:
            shutil.copyfileobj(src, out, length=16 << 20)
