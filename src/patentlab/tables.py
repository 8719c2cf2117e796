"""Reading tables (CSV / Parquet / JSONL) and picking a record's text: claims, abstract or title.

Shared machinery below the steps: classify, active, agents, review, search and scale all read
labelled or unlabelled tables and choose which text of a record to use. One ``--text`` option
names the choice everywhere (:data:`TEXT_CHOICES`):

* ``auto`` (the default): claim 1 when the record has claims, else the abstract, else the title;
* ``claims``: claim 1 only (the card's classifier input);
* ``abstract``: the abstract only;
* ``title+abstract``: the title and the abstract;
* ``all``: title, abstract and claim 1.

A flat table whose only text column is ``text`` (``hitl_gold_100.csv``, the hub layout) holds
claim 1 there, so ``claims`` reads ``text`` when the table has no ``claims`` column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from patentlab.errors import PatentlabError

ID_COLUMNS = ("id", "doc_id", "patent_id")
TEXT_CHOICES = ("auto", "claims", "abstract", "title+abstract", "all")
#: Help text of every ``--text`` option.
TEXT_HELP = (
    "Which text of a record to use: auto (claims when present, else the abstract), claims, "
    "abstract, title+abstract or all."
)


def read_table(path: str | Path):
    """Read a CSV (optionally ``.gz``), Parquet or JSONL file into a DataFrame; one-line errors."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise PatentlabError("no such file", path=path)
    suffixes = [s.lower() for s in path.suffixes]
    suffix = suffixes[-2] if len(suffixes) > 1 and suffixes[-1] == ".gz" else path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".json"):
            return pd.read_json(path, lines=True, dtype=False)
        if suffix in (".csv", ".tsv"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise PatentlabError(f"not valid UTF-8 (byte {exc.start})", path=path) from exc
    except (ValueError, OSError, EOFError) as exc:
        raise PatentlabError(f"cannot read the file: {exc}", path=path) from exc
    raise PatentlabError(f"unsupported file type '{suffix}' (use .csv, .parquet or .jsonl)", path=path)


def id_column_of(columns: Iterable[str]) -> str | None:
    """The column holding the patent id (``id``, ``doc_id`` or ``patent_id``), if any."""
    columns = list(columns)
    return next((c for c in ID_COLUMNS if c in columns), None)


def text_column_of(columns: list[str], text_column: str | None, path: str | Path) -> str:
    """The column holding the claim text: ``text_column``, else ``text``, else ``claims`` (claim 1)."""
    if text_column:
        if text_column not in columns:
            raise PatentlabError(f"no column '{text_column}'; columns are {', '.join(columns)}", path=path)
        return text_column
    for name in ("text", "claims"):
        if name in columns:
            return name
    raise PatentlabError(f"no 'text' or 'claims' column; columns are {', '.join(columns)}", path=path)


def claim_text(value: object) -> str:
    """Claim text from a string cell, or claim 1 from a list of claims."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) and isinstance(value[0], str):
        return value[0]
    return ""


def check_text_choice(text: str) -> str:
    """``text`` if it is one of :data:`TEXT_CHOICES`, else a one-line error."""
    if text not in TEXT_CHOICES:
        raise PatentlabError(f"--text must be one of {', '.join(TEXT_CHOICES)}, not '{text}'")
    return text


def _field(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def _claim(row: Mapping[str, Any]) -> str:
    if "claims" in row:
        claim = claim_text(row.get("claims")).strip()
        if claim or "text" not in row or "abstract" in row:
            # a corpus/split row: its own claims decide (its 'text' may hold the abstract)
            return claim
    return claim_text(row.get("text")).strip()


def record_text_and_kind(row: Mapping[str, Any], text: str = "auto") -> tuple[str, str]:
    """The text of ``row`` under the ``--text`` choice, and which field it came from.

    The kind is ``claims``, ``abstract``, ``title`` or the choice itself for combined texts;
    the text is empty when the row has none of the fields the choice names.
    """
    check_text_choice(text)
    if text == "claims":
        return _claim(row), "claims"
    if text == "abstract":
        return _field(row, "abstract"), "abstract"
    if text == "title+abstract":
        return " ".join(p for p in (_field(row, "title"), _field(row, "abstract")) if p), text
    if text == "all":
        parts = (_field(row, "title"), _field(row, "abstract"), _claim(row))
        return " ".join(p for p in parts if p), text
    for kind, value in (("claims", _claim(row)), ("abstract", _field(row, "abstract"))):
        if value:
            return value, kind
    return _field(row, "title"), "title"


def record_text(row: Mapping[str, Any], text: str = "auto") -> str:
    """The text of one record (a dict or a table row) under the ``--text`` choice.

    Example:
        >>> record_text({"claims": ["1. A wind turbine …"], "abstract": "A turbine …"})
        '1. A wind turbine …'
        >>> record_text({"claims": [], "abstract": "A turbine …"})
        'A turbine …'
    """
    return record_text_and_kind(row, text)[0]


def check_text_columns(columns: Iterable[str], text: str, path: str | Path | None = None) -> None:
    """A one-line error when a table lacks every column the ``--text`` choice reads."""
    check_text_choice(text)
    columns = set(columns)
    has_claims = bool(columns & {"claims", "text"})
    needed = {
        "auto": ("claims", has_claims or bool(columns & {"abstract", "title"})),
        "claims": ("claims", has_claims),
        "abstract": ("abstract", "abstract" in columns),
        "title+abstract": ("abstract", bool(columns & {"title", "abstract"})),
        "all": ("claims", has_claims or bool(columns & {"title", "abstract"})),
    }
    field, present = needed[text]
    if not present:
        raise PatentlabError(
            f"--text {text} names a field the file does not have; columns are {', '.join(sorted(columns))}",
            path=path,
            field=field,
        )
