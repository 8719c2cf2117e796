"""Search filters and their translation to SQL over the document table."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass

from patentlab.corpus.schema import DOC_TYPES, Y02_CATEGORIES, normalize_cpc
from patentlab.errors import PatentlabError

_CPC_PREFIX = re.compile(r"^[A-HY][0-9A-Z/]{0,14}$")


@dataclass(frozen=True)
class SearchFilters:
    """Restrict results. Every set field must hold; unset fields (None / empty) do not filter.

    Attributes:
        doc_types: keep these document types (``granted``, ``application``, ``generated``, ``unknown``).
        green: True keeps green documents (a Y02 code, a green silver label or p_green ≥ 0.5),
            False keeps documents known not to be green.
        y02: keep documents in this Y02 category (``Y02E``…).
        cpc_prefix: keep documents with a CPC code starting with this (``H01L``, ``Y02E10/5``).
        date_from, date_to: keep documents dated within this range, both ends included.
        has_claims: True keeps documents with claims (the grounded generator builds on them).
    """

    doc_types: tuple[str, ...] = ()
    green: bool | None = None
    y02: str | None = None
    cpc_prefix: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    has_claims: bool | None = None

    def __post_init__(self) -> None:
        bad = [t for t in self.doc_types if t not in DOC_TYPES]
        if bad:
            raise PatentlabError(
                f"unknown source '{bad[0]}'; choose from {', '.join(DOC_TYPES)}", field="source"
            )
        if self.y02 is not None and self.y02 not in Y02_CATEGORIES:
            raise PatentlabError(
                f"unknown Y02 category '{self.y02}'; choose from {', '.join(Y02_CATEGORIES)}", field="y02"
            )
        if self.cpc_prefix is not None and not _CPC_PREFIX.match(self.cpc_prefix):
            raise PatentlabError(f"not a CPC prefix: '{self.cpc_prefix}' (e.g. H01L or Y02E10)", field="cpc")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise PatentlabError("date_from is after date_to", field="date_from")

    @classmethod
    def parse(
        cls,
        *,
        source: list[str] | tuple[str, ...] | None = None,
        green: bool | None = None,
        y02: str | None = None,
        cpc: str | None = None,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
    ) -> SearchFilters:
        """Build filters from loose user input (query strings, CLI options); blank means unset."""
        return cls(
            doc_types=tuple(dict.fromkeys(s.strip().lower() for s in source or () if s and s.strip())),
            green=green,
            y02=(y02.strip().upper() or None) if y02 else None,
            cpc_prefix=(normalize_cpc(cpc) or None) if cpc else None,
            date_from=_date(date_from, "date_from"),
            date_to=_date(date_to, "date_to"),
        )

    @property
    def active(self) -> bool:
        return any(v not in (None, ()) for v in asdict(self).values())

    def key(self) -> tuple:
        """A hashable key (for caching the matching rows of a filter)."""
        return tuple(asdict(self).values())

    def to_sql(self, alias: str = "d") -> tuple[str, list]:
        """A SQL condition over the ``docs`` table (aliased ``alias``) and its parameters."""
        parts, params = ["1"], []
        if self.doc_types:
            parts.append(f"{alias}.doc_type IN ({', '.join('?' * len(self.doc_types))})")
            params.extend(self.doc_types)
        if self.green is not None:
            parts.append(f"{alias}.green = ?")
            params.append(int(self.green))
        if self.date_from:
            parts.append(f"{alias}.date >= ?")
            params.append(self.date_from.isoformat())
        if self.date_to:
            parts.append(f"{alias}.date <= ?")
            params.append(self.date_to.isoformat())
        if self.has_claims is not None:
            present = f"({alias}.claims IS NOT NULL AND {alias}.claims NOT IN ('', '[]'))"
            parts.append(present if self.has_claims else f"NOT {present}")
        # Y02 categories and CPC codes share one (code, rowid) table; a prefix is a range scan.
        for prefix in (self.y02, self.cpc_prefix):
            if prefix:
                parts.append(f"{alias}.rowid IN (SELECT rowid FROM doc_codes WHERE code >= ? AND code < ?)")
                params.extend([prefix, prefix + "\uffff"])
        return " AND ".join(parts), params

    def to_dict(self) -> dict:
        """The filters as JSON-friendly values (unset ones left out)."""
        out = {
            "source": list(self.doc_types) or None,
            "green": self.green,
            "y02": self.y02,
            "cpc": self.cpc_prefix,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "has_claims": self.has_claims,
        }
        return {k: v for k, v in out.items() if v is not None}


def _date(value: str | dt.date | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PatentlabError(f"not a date: '{text}' (use YYYY-MM-DD)", field=name) from None
