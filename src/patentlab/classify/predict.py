"""Stream a CSV / Parquet / JSONL file through a classifier, adding ``p_green`` and ``label``.

Rows are read and written in batches, so the input can be larger than memory. A bad row (empty
text, bytes that are not UTF-8, a JSON line that does not parse) is skipped and reported by its
row number (1-based, header excluded), never dropped silently.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from patentlab import console
from patentlab.errors import PatentlabError
from patentlab.storage import atomic_path
from patentlab.tables import claim_text, record_text, text_column_of

FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl"}
OUTPUT_COLUMNS = ("p_green", "label")


@dataclass
class PredictReport:
    """What ``predict_file`` did: rows read, rows written, and each skipped row with its reason."""

    rows: int = 0
    written: int = 0
    green: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    replaced_columns: list[str] = field(default_factory=list)


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PatentlabError(
            f"unsupported file type '{path.suffix}' (use .csv, .parquet or .jsonl)", path=path
        )
    return fmt


def _has_surrogates(value: Any) -> bool:
    return isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value)


def iter_rows(path: Path, batch_size: int = 256) -> Iterator[list[tuple[int, dict | None, str]]]:
    """Batches of ``(row number, record or None, problem)``; ``problem`` is empty for good rows."""
    fmt = file_format(path)
    batch: list[tuple[int, dict | None, str]] = []
    if fmt == "parquet":
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise PatentlabError(f"not a Parquet file: {exc}", path=path) from exc
        row = 0
        for record_batch in parquet.iter_batches(batch_size=batch_size):
            records = record_batch.to_pylist()
            yield [(row + i + 1, rec, "") for i, rec in enumerate(records)]
            row += len(records)
        return
    if fmt == "csv":
        # surrogateescape keeps undecodable bytes as markers, so one bad row doesn't end the file.
        with path.open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                raise PatentlabError("the CSV file is empty", path=path)
            for i, rec in enumerate(reader, start=1):
                bad = any(_has_surrogates(v) for v in rec.values()) or any(map(_has_surrogates, rec))
                batch.append((i, None, "not valid UTF-8") if bad else (i, rec, ""))
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
    else:
        with path.open("rb") as fh:
            i = 0
            for raw in fh:
                if not raw.strip():
                    continue
                i += 1
                try:
                    rec = json.loads(raw.decode("utf-8"))
                    batch.append((i, rec, "") if isinstance(rec, dict) else (i, None, "not a JSON object"))
                except UnicodeDecodeError:
                    batch.append((i, None, "not valid UTF-8"))
                except json.JSONDecodeError as exc:
                    batch.append((i, None, f"not valid JSON ({exc.msg})"))
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
    if batch:
        yield batch


class _Writer:
    """Appends batches of records to a CSV, JSONL or Parquet file."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self._fh = None
        self._csv = None
        self._parquet = None

    def write(self, records: list[dict]) -> None:
        if not records:
            return
        if self.fmt == "parquet":
            table = pa.Table.from_pylist(records)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._parquet.write_table(table.cast(self._parquet.schema))
            return
        if self._fh is None:
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            if self.fmt == "csv":
                self._csv = csv.DictWriter(self._fh, fieldnames=list(records[0]), extrasaction="ignore")
                self._csv.writeheader()
        if self._csv is not None:
            self._csv.writerows(records)
        else:
            self._fh.writelines(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._fh is not None:
            self._fh.close()


def predict_file(
    model: Any,
    input_path: str | Path,
    out_path: str | Path,
    *,
    text_column: str | None = None,
    text: str | None = None,
    batch_size: int = 256,
    threshold: float = 0.5,
    show_progress: bool = True,
) -> PredictReport:
    """Classify every row of ``input_path`` and write it, with ``p_green`` and ``label``, to ``out_path``.

    ``model`` is a classifier object or folder (fine-tuned or baseline). ``label`` is 1 when
    ``p_green >= threshold``. The output format follows ``out_path``'s extension. The text is
    ``text_column`` when given, else the ``text`` choice (:mod:`patentlab.tables`), which defaults
    to what the model was trained on: a claims-only model refuses a file without claims.
    """
    from patentlab.classify.data import check_model_text
    from patentlab.classify.family import load_classifier

    input_path, out_path = Path(input_path), Path(out_path)
    if not input_path.exists():
        raise PatentlabError("no such file", path=input_path)
    out_fmt = file_format(out_path)
    if isinstance(model, (str, Path)):
        model = load_classifier(model)
    report = PredictReport()
    text_col: str | None = None
    bar = console.progress(transient=True)
    total = pq.ParquetFile(input_path).metadata.num_rows if file_format(input_path) == "parquet" else None
    task = bar.add_task(f"predict {input_path.name}", total=total)
    with atomic_path(out_path) as tmp, bar if show_progress else contextlib.nullcontext():
        writer = _Writer(tmp, out_fmt)
        try:
            for batch in iter_rows(input_path, batch_size):
                good: list[tuple[dict, str]] = []
                for row, rec, problem in batch:
                    report.rows += 1
                    if rec is not None and text_col is None:
                        if text_column:
                            text_col = text_column_of(list(rec), text_column, input_path)
                        else:
                            text_col = check_model_text(model, list(rec), text, input_path)
                        report.replaced_columns = [c for c in OUTPUT_COLUMNS if c in rec]
                    body = ""
                    if rec is not None:
                        body = claim_text(rec.get(text_col)) if text_column else record_text(rec, text_col)
                    if not problem and not body.strip():
                        problem = "empty text"
                    if problem:
                        report.skipped.append((row, problem))
                    else:
                        good.append((rec, body))
                if good:
                    probs = model.predict_proba([t for _, t in good], show_progress=False)[:, 1]
                    records = []
                    for (rec, _), p in zip(good, probs, strict=True):
                        label = int(p >= threshold)
                        records.append({**rec, "p_green": round(float(p), 6), "label": label})
                        report.green += label
                    writer.write(records)
                    report.written += len(records)
                bar.advance(task, len(batch))
        finally:
            writer.close()
        if report.written == 0:
            tmp.write_bytes(b"")  # no good rows: an empty output, and the skipped rows reported
    return report
