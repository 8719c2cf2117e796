"""Reading and writing JSON Lines, with one-line, row-numbered errors, shared by every step."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from patentlab.errors import PatentlabError


def iter_objects(path: str | Path, *, skip_invalid: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line.

    A line that is not UTF-8 or not a JSON object raises PatentlabError naming the row, or is
    skipped with ``skip_invalid`` (for a progress log, whose last line an interruption may have
    cut off).
    """
    path = Path(path)
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if skip_invalid:
                    continue
                message = f"not valid UTF-8 (byte {exc.start + 1})"
                raise PatentlabError(message, path=path, row=number) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                if skip_invalid:
                    continue
                raise PatentlabError(f"not valid JSON ({exc.msg})", path=path, row=number) from None
            if not isinstance(obj, dict):
                if skip_invalid:
                    continue
                raise PatentlabError("not a JSON object", path=path, row=number)
            yield number, obj


def write_objects(fh: TextIO, objects: Iterable[dict[str, Any]]) -> None:
    """Write each object as one JSON line, keeping non-ASCII text (claims, names) readable."""
    for obj in objects:
        fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
