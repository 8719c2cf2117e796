"""Ingest sources into one corpus: ``corpus.parquet`` plus ``ingest_report.json``.

Everything streams: sources are read batch by batch and appended to one Parquet file, so memory
stays bounded whatever the input size. Only the set of ids seen is kept, to reject duplicates.
The output directory is swapped in atomically when the run succeeds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from patentlab.corpus.readers import expand_sources, read_source
from patentlab.corpus.schema import PATENT_SCHEMA
from patentlab.errors import PatentlabError
from patentlab.storage import atomic_dir, write_json

CORPUS_FILE = "corpus.parquet"
REPORT_FILE = "ingest_report.json"
ON_DUPLICATE = ("error", "skip")


@dataclass
class IngestReport:
    """What an ingest run read and wrote."""

    out_dir: str
    rows: int = 0
    duplicates_skipped: int = 0
    per_input: dict[str, int] = field(default_factory=dict)  # rows kept per argument given
    per_source: dict[str, int] = field(default_factory=dict)  # rows kept per file read
    labels: dict[str, int] = field(default_factory=dict)
    doc_types: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def ingest(
    sources: Iterable[str],
    out_dir: str | Path,
    *,
    fmt: str = "auto",
    column_map: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    on_duplicate: str = "error",
    progress: Callable[[str, int], None] | None = None,
) -> IngestReport:
    """Read every source into ``out_dir/corpus.parquet`` in the corpus schema.

    Args:
        sources: file paths, directories (every readable file under them), or ``hf://owner/name``
            hub dataset ids.
        out_dir: the corpus directory to (re)create.
        fmt: reader to use for every source, or ``"auto"`` to detect per source.
        column_map: ``{source_column: schema_field}`` for tabular sources.
        encoding: text encoding of CSV/JSONL sources.
        on_duplicate: ``"error"`` stops at a repeated id; ``"skip"`` keeps the first occurrence.
        progress: called with ``(source, rows_so_far)`` after each batch.
    """
    if on_duplicate not in ON_DUPLICATE:
        raise PatentlabError(f"on_duplicate must be one of {ON_DUPLICATE}, not '{on_duplicate}'")
    inputs = list(sources)
    if not inputs:
        raise PatentlabError("no sources given")
    files = [(given, path) for given in inputs for path in expand_sources([given], fmt)]
    paths = [path for _, path in files]
    start = time.perf_counter()
    report = IngestReport(out_dir=str(out_dir))
    labels: Counter[str] = Counter()
    doc_types: Counter[str] = Counter()
    seen: dict[str, tuple[int, int]] = {}
    with atomic_dir(out_dir) as staging:
        with pq.ParquetWriter(staging / CORPUS_FILE, PATENT_SCHEMA, compression="zstd") as writer:
            for index, (given, source) in enumerate(files):
                rows_read = rows_kept = 0
                for table in read_source(source, fmt=fmt, column_map=column_map, encoding=encoding):
                    batch_rows = table.num_rows
                    table = _drop_duplicates(table, seen, (index, rows_read), paths, on_duplicate)
                    report.duplicates_skipped += batch_rows - table.num_rows
                    rows_read += batch_rows
                    rows_kept += table.num_rows
                    if table.num_rows:
                        writer.write_table(table)
                    labels.update(_label_counts(table))
                    doc_types.update(_value_counts(table["doc_type"]))
                    if progress:
                        progress(source, rows_read)
                if rows_read == 0:
                    raise PatentlabError("no records found", path=source)
                report.per_source[source] = rows_kept
                report.per_input[given] = report.per_input.get(given, 0) + rows_kept
                report.rows += rows_kept
        report.labels = dict(labels)
        report.doc_types = dict(doc_types)
        report.seconds = round(time.perf_counter() - start, 3)
        write_json(staging / REPORT_FILE, report.to_dict())
    return report


def _value_counts(column: pa.ChunkedArray) -> Counter:
    return Counter({r["values"]: r["counts"] for r in pc.value_counts(column).to_pylist()})


def _label_counts(table: pa.Table) -> Counter:
    names = {1: "green", 0: "not_green", None: "unknown"}
    return Counter({names[k]: v for k, v in _value_counts(table["is_green_silver"]).items()})


def _drop_duplicates(
    table: pa.Table,
    seen: dict[str, tuple[int, int]],
    position: tuple[int, int],
    sources: list[str],
    on_duplicate: str,
) -> pa.Table:
    """Remember each id's first (source, row); drop or reject later repeats."""
    source_index, row_offset = position
    keep = []
    for i, doc_id in enumerate(table["id"].to_pylist()):
        first = seen.setdefault(doc_id, (source_index, row_offset + i + 1))
        if first == (source_index, row_offset + i + 1):
            keep.append(True)
            continue
        if on_duplicate == "error":
            raise PatentlabError(
                f"duplicate id '{doc_id}' (first seen at {sources[first[0]]} row {first[1]}); "
                "pass --on-duplicate skip to keep the first occurrence",
                path=sources[source_index],
                row=row_offset + i + 1,
                field="id",
            )
        keep.append(False)
    return table if all(keep) else table.filter(pa.array(keep))


def read_corpus(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """Load a corpus (a directory from :func:`ingest`, or a Parquet file) as an Arrow table."""
    return pq.read_table(corpus_file(path), columns=columns)


def corpus_file(path: str | Path) -> Path:
    """The Parquet file behind a corpus directory or file path."""
    path = Path(path)
    candidate = path / CORPUS_FILE if path.is_dir() else path
    if not candidate.exists():
        raise PatentlabError("no corpus here (run 'patentlab corpus ingest' first)", path=path)
    return candidate
