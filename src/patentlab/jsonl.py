"""Reading JSON Lines files with one-line, row-numbered errors, shared by every step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError


def iter_objects(path: str | Path, *, skip_invalid: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line.

    A line that is not a JSON object raises PatentlabError, or is skipped with ``skip_invalid``
    (for a progress log, whose last line an interruption may have cut off).
    """
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
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
