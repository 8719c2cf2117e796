"""The one record schema every reader produces (documented in ``docs/data.md``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

import pyarrow as pa

#: The eight Y02 subclasses ("Technologies for climate change mitigation or adaptation").
Y02_CATEGORIES: tuple[str, ...] = (
    "Y02A", "Y02B", "Y02C", "Y02D", "Y02E", "Y02P", "Y02T", "Y02W",
)  # fmt: skip

#: Document types used by later steps (search filters, publication).
DOC_TYPES: tuple[str, ...] = ("granted", "application", "generated", "unknown")

PATENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("date", pa.date32()),
        pa.field("title", pa.string()),
        pa.field("abstract", pa.string()),
        pa.field("claims", pa.list_(pa.string())),
        pa.field("cpc", pa.list_(pa.string())),
        pa.field("y02", pa.list_(pa.string())),
        pa.field("is_green_silver", pa.int8()),
        pa.field("doc_type", pa.string()),
        pa.field("source", pa.string()),
    ]
)
FIELDS: tuple[str, ...] = tuple(PATENT_SCHEMA.names)


class PatentRecord(TypedDict):
    """One patent in the corpus schema. ``claims[0]`` is claim 1, the classifier's input."""

    id: str
    date: dt.date | None
    title: str | None
    abstract: str | None
    claims: list[str]
    cpc: list[str]
    y02: list[str]
    is_green_silver: int | None  # 1 green, 0 not green, None when no CPC codes are known
    doc_type: str
    source: str


_SUBCLASS = re.compile(r"^[A-HY]\d\d[A-Z]$")
_WS = re.compile(r"\s+")


def is_cpc_subclass(name: str) -> bool:
    """True for a CPC subclass symbol such as ``Y02E`` or ``H01L``."""
    return bool(_SUBCLASS.match(name))


def normalize_cpc(code: str) -> str:
    """Canonical CPC symbol: upper case, no spaces (``"Y02E 10/50"`` -> ``"Y02E10/50"``)."""
    return _WS.sub("", code).upper()


def y02_categories(cpc: Iterable[str]) -> list[str]:
    """The sorted Y02 subclasses (Y02A…Y02W) present among ``cpc`` codes of any depth."""
    found = {c[:4] for c in (normalize_cpc(x) for x in cpc) if c[:4] in Y02_CATEGORIES}
    return sorted(found)


def silver_label(y02: list[str], cpc_known: bool) -> int | None:
    """The card's silver label: 1 if any Y02 code is present, 0 if not, None if CPC is unknown."""
    if y02:
        return 1
    return 0 if cpc_known else None


def parse_date(value: Any) -> dt.date | None:
    """Parse ``YYYY-MM-DD``, ``YYYYMMDD`` or a date/datetime; None for empty or unparseable."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for candidate, fmt in ((text[:10], "%Y-%m-%d"), (text[:8], "%Y%m%d"), (text[:10], "%Y/%m/%d")):
        try:
            return dt.datetime.strptime(candidate, fmt).date()
        except ValueError:
            continue
    return None


def make_record(
    *,
    id: str,
    claims: list[str],
    source: str,
    date: Any = None,
    title: str | None = None,
    abstract: str | None = None,
    cpc: Iterable[str] | None = None,
    doc_type: str = "unknown",
    is_green_silver: int | None = None,
) -> PatentRecord:
    """Build a schema record, deriving ``y02`` and the silver label from ``cpc``.

    ``cpc=None`` means the source carries no CPC information, so the silver label is unknown
    unless ``is_green_silver`` is given explicitly.
    """
    codes = [normalize_cpc(c) for c in cpc] if cpc is not None else []
    codes = list(dict.fromkeys(c for c in codes if c))
    y02 = y02_categories(codes)
    label = silver_label(y02, cpc_known=cpc is not None)
    if is_green_silver is not None:
        label = int(is_green_silver)
    return PatentRecord(
        id=str(id),
        date=parse_date(date),
        title=clean_text(title),
        abstract=clean_text(abstract),
        claims=[c for c in (clean_text(x) for x in claims) if c],
        cpc=codes,
        y02=y02,
        is_green_silver=label,
        doc_type=doc_type,
        source=source,
    )


def clean_text(text: str | None) -> str | None:
    """Collapse runs of whitespace and repair mojibake (:func:`repair_mojibake`); None for
    missing or blank text."""
    if text is None:
        return None
    text = repair_mojibake(_WS.sub(" ", str(text)).strip())
    return text or None


def _continuation_bytes() -> dict[str, int]:
    """Each character a UTF-8 continuation byte (0x80–0xBF) turns into when read as Latin-1 or
    as Windows-1252, mapped back to the byte."""
    table = {chr(b): b for b in range(0x80, 0xC0)}
    for b in range(0x80, 0xA0):
        with contextlib.suppress(UnicodeDecodeError):  # five bytes are undefined in cp1252
            table[bytes([b]).decode("cp1252")] = b
    return table


_CONTINUATION = _continuation_bytes()
_C = "[" + "".join(sorted(_CONTINUATION)) + "]"
#: UTF-8 read as Latin-1 / Windows-1252 somewhere upstream: a lead byte (Â, Ã, â, ð …) followed
#: by exactly as many continuation characters as its sequence needs ("90Â°" is "90°"). The
#: f-string puts the characters themselves in the pattern, so Arrow's RE2 reads it as ``re`` does.
MOJIBAKE = re.compile(f"[\u00c2-\u00df]{_C}|[\u00e0-\u00ef]{_C}{{2}}|[\u00f0-\u00f4]{_C}{{3}}")


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as Latin-1 or Windows-1252 upstream ("250Â° C." ->
    "250° C.", "â€™" -> "’"). Only sequences that decode as valid UTF-8 are replaced, so
    real accented text ("Ångström", "naïve") is left alone. The bundled hub claims have 223 such
    sequences; a published invention once read "an angle less than 90Â°"."""

    def decode(match: re.Match[str]) -> str:
        chunk = match.group(0)
        raw = bytes([ord(chunk[0]), *(_CONTINUATION[c] for c in chunk[1:])])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return chunk

    return MOJIBAKE.sub(decode, text)


def records_to_table(records: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Convert schema records to an Arrow table with :data:`PATENT_SCHEMA`."""
    columns: dict[str, list[Any]] = {name: [] for name in FIELDS}
    for rec in records:
        for name in FIELDS:
            columns[name].append(rec.get(name))
    return pa.table(columns, schema=PATENT_SCHEMA)


def claim_text(record: Mapping[str, Any]) -> str:
    """Claim 1, the text the classifier reads (empty string when a record has no claims)."""
    claims = record.get("claims") or []
    return claims[0] if len(claims) else ""
