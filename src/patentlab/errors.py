"""The one exception type users see.

Every error caused by bad input is raised as :class:`PatentlabError` with a message that names the
file, row or field at fault. The CLI prints that message on one line and exits non-zero, so a user
never sees a traceback for a problem in their own data.
"""

from __future__ import annotations

from pathlib import Path


class PatentlabError(Exception):
    """An error in the user's input or configuration, with a one-line, actionable message."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.row = row
        self.field = field
        where = []
        if self.path is not None:
            where.append(self.path)
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + " ".join(str(message).split()))
