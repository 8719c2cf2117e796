"""Turn corpus-schema files (the corpus, published inventions) into the rows the index stores.

The index takes any file in the corpus schema (``docs/data.md``): Parquet or JSON Lines written by
``patentlab corpus ingest`` or by the publish step, or any other source that
:func:`patentlab.corpus.readers.read_source` understands. Columns beyond the schema that matter to
an examiner (a classifier's ``p_green``, a publication timestamp, provenance) are kept as extras.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patentlab.corpus.schema import DOC_TYPES, normalize_cpc, parse_date, y02_categories
from patentlab.errors import PatentlabError
from patentlab.jsonl import iter_objects

#: Columns kept (when present) beside the schema fields and shown on the detail page.
EXTRA_FIELDS = ("published_at", "timestamp", "provenance", "y02_scores", "content_hash", "model", "seed")


@dataclass
class IndexDoc:
    """One document as the index stores it."""

    id: str
    title: str | None
    abstract: str | None
    claims: list[str]
    date: dt.date | None = None
    doc_type: str = "unknown"
    source: str = ""
    cpc: list[str] = field(default_factory=list)
    y02: list[str] = field(default_factory=list)
    green: int | None = None
    p_green: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def claim1(self) -> str:
        return self.claims[0] if self.claims else ""

    def embedding_text(self) -> str:
        return embedding_text(self.title, self.abstract, self.claims)


def embedding_text(title: str | None, abstract: str | None, claims: list[str]) -> str:
    """The text the dense index sees: the title, then claim 1 (the abstract when there are no claims)."""
    body = (claims[0] if claims else None) or abstract or ""
    return f"{title}. {body}" if title else body


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return [str(v) for v in json.loads(text)]
            except json.JSONDecodeError:
                pass
        return [v.strip() for v in text.split(";") if v.strip()]
    return [str(v) for v in value if v is not None]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _maybe_json(value: Any) -> Any:
    """Publish writes nested values (provenance, scores) as JSON strings; keep them structured."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def to_index_doc(row: Mapping[str, Any], *, where: str = "", row_number: int | None = None) -> IndexDoc:
    """Validate one corpus-schema row (a dict) and convert it to an :class:`IndexDoc`."""
    doc_id = _text(row.get("id"))
    if not doc_id:
        raise PatentlabError("empty id", path=where or None, row=row_number, field="id")
    claims = [c for c in (_text(x) for x in _as_list(row.get("claims"))) if c]
    if not claims and row.get("text"):
        claims = [_text(row["text"])]
    title, abstract = _text(row.get("title")), _text(row.get("abstract"))
    if not (claims or abstract or title):
        raise PatentlabError("no text (claims, abstract or title)", path=where or None, row=row_number)
    cpc = list(dict.fromkeys(normalize_cpc(c) for c in _as_list(row.get("cpc")) if c.strip()))
    y02 = sorted(set(_as_list(row.get("y02"))) | set(y02_categories(cpc)))
    doc_type = str(row.get("doc_type") or "unknown").strip().lower()
    if doc_type not in DOC_TYPES:
        raise PatentlabError(
            f"doc_type must be one of {', '.join(DOC_TYPES)}, not '{doc_type}'",
            path=where or None,
            row=row_number,
            field="doc_type",
        )
    p_green = row.get("p_green")
    p_green = None if p_green is None or p_green != p_green else float(p_green)
    label = row.get("is_green_silver")
    if label is not None and label == label:
        green: int | None = int(label)
    elif p_green is not None:
        green = int(p_green >= 0.5)
    else:
        green = 1 if y02 else None
    extra = {k: _maybe_json(row[k]) for k in EXTRA_FIELDS if row.get(k) is not None}
    return IndexDoc(
        id=doc_id,
        title=title,
        abstract=abstract,
        claims=claims,
        date=parse_date(row.get("date")),
        doc_type=doc_type,
        source=str(row.get("source") or ""),
        cpc=cpc,
        y02=y02,
        green=green,
        p_green=p_green,
        extra=json.loads(json.dumps(extra, default=str)),
    )


def _has_id_column(path: Path) -> bool:
    """True when a Parquet/JSONL file is already in the corpus schema (it has an ``id`` field)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            return "id" in pq.read_schema(path).names
        except Exception as exc:
            raise PatentlabError(f"not a readable Parquet file: {exc}", path=path) from None
    with path.open(encoding="utf-8") as fh:
        first = next((line for line in fh if line.strip()), "")
    try:
        return isinstance(obj := json.loads(first), dict) and "id" in obj
    except json.JSONDecodeError:
        return False


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".jsonl", ".ndjson") and _has_id_column(path):
        yield from _schema_rows(path)
    else:  # CSV, hub layout, USPTO XML, other column names: the corpus readers map them first
        from patentlab.corpus.readers import read_source

        for table in read_source(str(path)):
            yield from table.to_pylist()


def _schema_rows(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
            yield from batch.to_pylist()
        return
    for _, obj in iter_objects(path):
        yield obj


def read_documents(sources: Iterable[str | Path]) -> Iterator[IndexDoc]:
    """Stream :class:`IndexDoc` rows from corpus-schema files or directories (``corpus.parquet``…)."""
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".parquet", ".jsonl"))
            if not files:
                raise PatentlabError("no .parquet or .jsonl files in this directory", path=path)
        elif path.exists():
            files = [path]
        else:
            raise PatentlabError("no such file or directory", path=path)
        for file in files:
            for number, row in enumerate(_rows(file), start=1):
                yield to_index_doc(row, where=str(file), row_number=number)
