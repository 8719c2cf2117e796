"""The hub dataset layout: ``id, date, text`` plus one 0/1 column per CPC subclass.

This is the layout of ``AI-Growth-Lab/patents_claims_1.5m_traim_test`` (1.37M claims) and of the
PatentSBERTa sample files bundled in ``patentlab/data/hub_layout``. Conversion is vectorised over
Arrow batches, so a 1.4M-row file streams through in bounded memory.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from patentlab.corpus.readers.text import decode_error, read_header
from patentlab.corpus.schema import MOJIBAKE, PATENT_SCHEMA, Y02_CATEGORIES, is_cpc_subclass, repair_mojibake
from patentlab.errors import PatentlabError

#: An optional ';'-separated list of subclasses (the bundled ``y02_claims_1100.csv`` has one).
CPC_LIST_COLUMN = "cpc_subclasses"
#: An optional explicit green label column; validated as 0/1.
LABEL_COLUMNS = ("is_green", "is_green_silver")

_BLOCK_SIZE = 8 << 20


def is_hub_layout(columns: list[str]) -> bool:
    """True when ``columns`` look like the hub layout: id, text and CPC subclass columns."""
    names = set(columns)
    return {"id", "text"} <= names and any(is_cpc_subclass(c) for c in columns)


def read_hub_csv(
    path: str | Path, *, encoding: str = "utf-8", source: str | None = None
) -> Iterator[pa.Table]:
    """Stream a hub-layout CSV file as tables in :data:`PATENT_SCHEMA`."""
    path = Path(path)
    header = read_header(path, encoding)
    _check_columns(header, path)
    types = {c: pa.int8() for c in header if is_cpc_subclass(c) or c in LABEL_COLUMNS}
    types.update({"id": pa.string(), "date": pa.string(), "text": pa.string()})
    if CPC_LIST_COLUMN in header:
        types[CPC_LIST_COLUMN] = pa.string()
    keep = [c for c in header if c in types]
    reader_encoding = "utf8" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=_BLOCK_SIZE, encoding=reader_encoding),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types, include_columns=keep, strings_can_be_null=False
            ),
        )
        offset = 0
        for batch in reader:
            table = pa.Table.from_batches([batch])
            yield convert_hub_table(table, source or f"hub_layout:{path.name}", path, offset)
            offset += table.num_rows
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _locate_csv_error(path, header, encoding, exc) from None


def _check_columns(columns: list[str], path: Path | str) -> None:
    for required in ("id", "text"):
        if required not in columns:
            raise PatentlabError(
                f"missing required column '{required}' (columns: {', '.join(columns[:8])}…); "
                "map one with --map COLUMN=" + ("claims" if required == "text" else "id"),
                path=path,
                field=required,
            )


def convert_hub_table(table: pa.Table, source: str, path: Path | str, row_offset: int = 0) -> pa.Table:
    """Convert one batch in the hub layout to :data:`PATENT_SCHEMA` (vectorised)."""
    names = table.column_names
    _check_columns(names, path)
    n = table.num_rows
    subclass_cols = [c for c in names if is_cpc_subclass(c)]
    table = table.combine_chunks()
    ids = pc.cast(table["id"], pa.string()).combine_chunks()
    text = pc.cast(table["text"], pa.string()).combine_chunks()
    _check_ids_and_text(ids, text, path, row_offset)
    text = _repair_mojibake(text)

    matrix = _indicator_matrix(table, subclass_cols, path, row_offset)
    cpc = _lists_from_indicator(matrix, np.array(subclass_cols, dtype=object))
    if CPC_LIST_COLUMN in names:
        cpc = _merge_cpc_lists(cpc, table[CPC_LIST_COLUMN])
    y02_idx = [i for i, c in enumerate(subclass_cols) if c in Y02_CATEGORIES]
    y02_matrix = matrix[:, y02_idx] if y02_idx else np.zeros((n, 0), dtype=np.int8)
    y02 = _lists_from_indicator(y02_matrix, np.array([subclass_cols[i] for i in y02_idx], dtype=object))
    label = (y02_matrix.sum(axis=1) > 0).astype(np.int8)
    for column in LABEL_COLUMNS:
        if column in names:
            label = _indicator_matrix(table, [column], path, row_offset)[:, 0]

    if "date" in names:
        date = pc.cast(
            pc.strptime(pc.cast(table["date"], pa.string()), format="%Y-%m-%d", unit="s", error_is_null=True),
            pa.date32(),
        )
    else:
        date = pa.nulls(n, pa.date32())
    claims = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), text)
    return pa.table(
        {
            "id": ids,
            "date": date,
            "title": pa.nulls(n, pa.string()),
            "abstract": pa.nulls(n, pa.string()),
            "claims": claims,
            "cpc": cpc,
            "y02": y02,
            "is_green_silver": pa.array(label, pa.int8()),
            "doc_type": pa.array(["granted"] * n, pa.string()),
            "source": pa.array([source] * n, pa.string()),
        },
        schema=PATENT_SCHEMA,
    )


def _repair_mojibake(text: pa.Array) -> pa.Array:
    """:func:`~patentlab.corpus.schema.repair_mojibake` on the few rows that need it; the rest
    never leave Arrow (a hub table has over a million rows)."""
    hit = pc.match_substring_regex(text, MOJIBAKE.pattern)
    rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    if not len(rows):
        return text
    repaired = pa.array([repair_mojibake(text[int(i)].as_py()) for i in rows], pa.string())
    return pc.replace_with_mask(text, hit, repaired)


def _check_ids_and_text(ids: pa.ChunkedArray, text: pa.ChunkedArray, path, row_offset: int) -> None:
    for name, column in (("id", ids), ("text", text)):
        empty = pc.or_(pc.is_null(column), pc.equal(pc.utf8_trim_whitespace(column), ""))
        if pc.any(empty).as_py():
            row = int(np.flatnonzero(empty.to_numpy(zero_copy_only=False))[0])
            raise PatentlabError(f"empty {name}", path=path, row=row_offset + row + 1, field=name)


def _indicator_matrix(table: pa.Table, columns: list[str], path, row_offset: int) -> np.ndarray:
    """Stack 0/1 columns into an int8 matrix, rejecting empty or out-of-range cells by row and field."""
    if not columns:
        return np.zeros((table.num_rows, 0), dtype=np.int8)
    for column in columns:
        missing = pc.is_null(table[column])
        if pc.any(missing).as_py():
            row = int(np.flatnonzero(missing.to_numpy(zero_copy_only=False))[0])
            raise PatentlabError(
                "label is empty; expected 0 or 1", path=path, row=row_offset + row + 1, field=column
            )
    matrix = np.column_stack([table[c].to_numpy(zero_copy_only=False) for c in columns])
    bad = np.argwhere((matrix != 0) & (matrix != 1))
    if len(bad):
        r, c = bad[0]
        raise PatentlabError(
            f"label is {matrix[r, c].item()!r}; expected 0 or 1",
            path=path,
            row=row_offset + int(r) + 1,
            field=columns[int(c)],
        )
    return matrix.astype(np.int8, copy=False)


def _lists_from_indicator(matrix: np.ndarray, names: np.ndarray) -> pa.ListArray:
    rows, cols = np.nonzero(matrix)
    counts = np.bincount(rows, minlength=matrix.shape[0])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = pa.array(names[cols].tolist() if len(cols) else [], pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _merge_cpc_lists(cpc: pa.ListArray, listed: pa.ChunkedArray) -> pa.ListArray:
    merged = []
    for from_columns, text in zip(cpc.to_pylist(), listed.to_pylist(), strict=True):
        extra = [c.strip().upper() for c in (text or "").split(";") if c.strip()]
        merged.append(sorted(set(from_columns) | set(extra)))
    return pa.array(merged, pa.list_(pa.string()))


def _locate_csv_error(path: Path, header: list[str], encoding: str, exc: Exception) -> PatentlabError:
    """Re-scan the file with the csv module to name the row and field behind an Arrow error."""
    if isinstance(exc, UnicodeDecodeError):
        return decode_error(path, encoding)
    checked = {c for c in header if is_cpc_subclass(c) or c in LABEL_COLUMNS}
    try:
        with open(path, encoding=encoding, newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            for row_number, row in enumerate(reader, start=1):
                if len(row) != len(header):
                    return PatentlabError(
                        f"has {len(row)} fields, the header has {len(header)}", path=path, row=row_number
                    )
                for name, value in zip(header, row, strict=True):
                    if name in checked and value.strip() not in ("0", "1"):
                        return PatentlabError(
                            f"label is {value!r}; expected 0 or 1", path=path, row=row_number, field=name
                        )
    except UnicodeDecodeError:
        return decode_error(path, encoding)
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return PatentlabError(f"could not parse CSV: {message}", path=path)


def read_hub_dataset(
    name_or_path: str, *, split: str | None = None, batch_size: int = 10_000
) -> Iterator[pa.Table]:
    """Stream a hub dataset (e.g. ``AI-Growth-Lab/patents_claims_1.5m_traim_test``) via ``datasets``.

    A local directory of CSV/Parquet files in the same layout goes through the same code, which is
    how this path is tested offline.
    """
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a core dependency
        raise PatentlabError("reading hub datasets needs the 'datasets' package") from None
    datasets.disable_progress_bars()
    try:
        loaded = datasets.load_dataset(name_or_path, split=split, streaming=True)
    except Exception as exc:  # the hub raises many types; all mean "could not load"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PatentlabError(f"could not load hub dataset: {first}", path=name_or_path) from None
    splits = {split or "data": loaded} if split or not hasattr(loaded, "keys") else dict(loaded)
    for split_name, stream in splits.items():
        offset = 0
        source = f"hub:{name_or_path}:{split_name}"
        for batch in stream.iter(batch_size=batch_size):
            table = pa.Table.from_pydict(batch)
            yield convert_hub_table(table, source, f"{name_or_path} [{split_name}]", offset)
            offset += table.num_rows
