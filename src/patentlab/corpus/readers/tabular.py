"""CSV, Parquet and JSONL files already in the corpus schema, or mapped onto it with ``--map``.

Columns are matched to schema fields by name, by a few common aliases (``patent_id``,
``doc_number``, ``text`` …), or by an explicit ``column=field`` map. A record needs an id and
some text: claims, an abstract or a title. Gzipped files (``.csv.gz``, ``.jsonl.gz``) are read
as they are. The JSONL full-record layout
(``doc_number, kind, title, abstract, claims, cpc``) is read through the same aliases.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from patentlab.corpus.readers.text import decode_error, open_binary, open_text
from patentlab.corpus.schema import (
    FIELDS,
    PATENT_SCHEMA,
    PatentRecord,
    make_record,
    records_to_table,
)
from patentlab.errors import PatentlabError

#: Source column names recognised without a ``--map``, per schema field (first match wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "patent_id", "doc_number", "doc_id", "publication_number", "patent_number"),
    "date": ("date", "publication_date", "grant_date", "date_publ"),
    "title": ("title", "invention_title"),
    "abstract": ("abstract",),
    "claims": ("claims", "text", "claim", "claim_text"),
    "cpc": ("cpc", "cpc_codes", "cpc_subclasses", "cpc_subgroup"),
    "is_green_silver": ("is_green_silver", "is_green"),
    "doc_type": ("doc_type", "kind"),
    "source": ("source",),
}
MAPPABLE_FIELDS = tuple(f for f in FIELDS if f != "y02")

_BATCH_ROWS = 5_000


def parse_column_map(items: list[str] | None) -> dict[str, str]:
    """Parse ``["col=field", …]`` into ``{col: field}``, validating the field names."""
    mapping: dict[str, str] = {}
    for item in items or []:
        column, sep, field = item.partition("=")
        if not sep or not column or not field:
            raise PatentlabError(f"--map '{item}' is not of the form COLUMN=FIELD")
        if field not in MAPPABLE_FIELDS:
            raise PatentlabError(
                f"--map '{item}': unknown field '{field}'; fields are {', '.join(MAPPABLE_FIELDS)}"
            )
        mapping[column] = field
    return mapping


def resolve_columns(columns: list[str], column_map: Mapping[str, str], path: Path) -> dict[str, str]:
    """Return ``{field: column}`` for the given source columns, explicit map first, then aliases."""
    resolved: dict[str, str] = {}
    for column, field in column_map.items():
        if column not in columns:
            raise PatentlabError(
                f"--map names column '{column}', which is not in the file "
                f"(columns: {', '.join(columns[:10])})",
                path=path,
                field=column,
            )
        resolved[field] = column
    for field, aliases in ALIASES.items():
        if field in resolved:
            continue
        for alias in aliases:
            if alias in columns and alias not in column_map:
                resolved[field] = alias
                break
    if "id" not in resolved:
        raise PatentlabError(
            f"missing an 'id' column (columns: {', '.join(columns[:10])}); map one with --map COLUMN=id",
            path=path,
            field="id",
        )
    if not {"claims", "abstract", "title"} & set(resolved):
        raise PatentlabError(
            f"no text column: no claims, abstract or title (columns: {', '.join(columns[:10])}); "
            "map one with --map COLUMN=claims (or =abstract)",
            path=path,
            field="text",
        )
    return resolved


def _as_list(value: Any, split_on: str | None = None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            try:
                parsed = json.loads(stripped)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                return [str(v) for v in parsed]
        if split_on:
            return [v for v in (x.strip() for x in stripped.split(split_on)) if v]
        return [stripped] if stripped else []
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        return [str(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    return [str(value)]


_KIND_TO_DOC_TYPE = {"A": "application", "B": "granted", "E": "granted", "S": "granted",
                     "P": "granted", "H": "granted"}  # fmt: skip


def doc_type_from_kind(kind: str | None) -> str:
    """Map a USPTO kind code (``B2``, ``A1`` …) or a doc type name to a :data:`DOC_TYPES` value."""
    if not kind:
        return "unknown"
    kind = str(kind).strip()
    if kind.lower() in ("granted", "application", "generated", "unknown"):
        return kind.lower()
    return _KIND_TO_DOC_TYPE.get(kind[:1].upper(), "unknown")


def _label(value: Any, path: Path, row: int, column: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lower()
    if text in ("1", "1.0", "true"):
        return 1
    if text in ("0", "0.0", "false"):
        return 0
    raise PatentlabError(f"label is {value!r}; expected 0 or 1", path=path, row=row, field=column)


def row_to_record(
    row: Mapping[str, Any], fields: Mapping[str, str], path: Path, row_number: int, source: str
) -> PatentRecord:
    """Convert one source row to a schema record, validating id, text and label."""

    def get(field: str) -> Any:
        column = fields.get(field)
        return row.get(column) if column is not None else None

    raw_id = get("id")
    if raw_id is None or not str(raw_id).strip():
        raise PatentlabError("empty id", path=path, row=row_number, field=fields["id"])
    claims = _as_list(get("claims"))
    # A record needs some text, not necessarily claims: PatentsView abstract tables and old
    # bibliographic dumps carry only a title and an abstract.
    if not any(c.strip() for c in claims) and not any(
        isinstance(get(f), str) and get(f).strip() for f in ("abstract", "title")
    ):
        named = [fields[f] for f in ("claims", "abstract", "title") if f in fields]
        raise PatentlabError(
            "empty text: no claims, abstract or title", path=path, row=row_number, field="/".join(named)
        )
    # An empty CPC list means "not classified in CPC" (older grants carry only IPC/USPC), so the
    # silver label is unknown rather than "not green".
    cpc = _as_list(get("cpc"), split_on=";") or None
    label = _label(get("is_green_silver"), path, row_number, fields.get("is_green_silver", ""))
    return make_record(
        id=str(raw_id).strip(),
        claims=claims,
        source=str(get("source") or source),
        date=get("date"),
        title=get("title"),
        abstract=get("abstract"),
        cpc=cpc,
        doc_type=doc_type_from_kind(get("doc_type")),
        is_green_silver=label,
    )


def _batched(records: Iterator[PatentRecord]) -> Iterator[pa.Table]:
    batch: list[PatentRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= _BATCH_ROWS:
            yield records_to_table(batch)
            batch = []
    if batch:
        yield records_to_table(batch)


def read_csv(
    path: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    source: str | None = None,
) -> Iterator[pa.Table]:
    """Stream a CSV file (schema columns, aliases or ``column_map``) as schema tables."""
    path = Path(path)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

    def records() -> Iterator[PatentRecord]:
        with open_text(path, encoding) as fh:
            reader = csv.DictReader(fh)
            row_number = 0
            try:
                columns = reader.fieldnames
                if not columns:
                    raise PatentlabError("empty file (no header row)", path=path)
                fields = resolve_columns(list(columns), column_map or {}, path)
                for row_number, row in enumerate(reader, start=1):
                    if None in row:
                        raise PatentlabError(
                            f"has {len(columns) + len(row[None])} fields, the header has {len(columns)}",
                            path=path,
                            row=row_number,
                        )
                    yield row_to_record(row, fields, path, row_number, source or f"csv:{path.name}")
            except UnicodeDecodeError:
                raise decode_error(path, encoding) from None
            except csv.Error as exc:
                raise PatentlabError(f"malformed CSV: {exc}", path=path, row=row_number + 1) from None

    return _batched(records())


def read_jsonl(
    path: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    source: str | None = None,
) -> Iterator[pa.Table]:
    """Stream a JSON Lines file (one record per line) as schema tables."""
    path = Path(path)

    def records() -> Iterator[PatentRecord]:
        fields: dict[str, str] | None = None
        with open_binary(path) as fh:
            for line_number, raw in enumerate(fh, start=1):
                try:
                    line = raw.decode(encoding).strip()
                except UnicodeDecodeError:
                    raise decode_error(path, encoding) from None
                if not line:
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise PatentlabError(f"invalid JSON: {exc.msg}", path=path, row=line_number) from None
                if not isinstance(obj, dict):
                    raise PatentlabError("expected a JSON object per line", path=path, row=line_number)
                if fields is None:
                    fields = resolve_columns(list(obj), column_map or {}, path)
                default_source = f"jsonl:{path.name}"
                if "source_repo" in obj and "source" not in fields:
                    default_source = f"jsonl:{path.name}|{obj['source_repo']}"
                yield row_to_record(obj, fields, path, line_number, source or default_source)
        if fields is None:
            raise PatentlabError("empty file (no records)", path=path)

    return _batched(records())


def read_parquet(
    path: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    source: str | None = None,
) -> Iterator[pa.Table]:
    """Stream a Parquet file as schema tables, batch by batch."""
    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise PatentlabError(f"not a readable Parquet file: {exc}", path=path) from None
    columns = parquet.schema_arrow.names
    if parquet.metadata.num_rows == 0:
        raise PatentlabError("empty file (no rows)", path=path)
    if set(FIELDS) <= set(columns) and not column_map:
        for batch in parquet.iter_batches(batch_size=50_000, columns=list(FIELDS)):
            yield pa.Table.from_batches([batch]).cast(PATENT_SCHEMA)
        return
    fields = resolve_columns(columns, column_map or {}, path)

    def records() -> Iterator[PatentRecord]:
        row_number = 0
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=sorted(set(fields.values()))):
            for row in batch.to_pylist():
                row_number += 1
                yield row_to_record(row, fields, path, row_number, source or f"parquet:{path.name}")

    yield from _batched(records())
