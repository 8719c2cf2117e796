"""Readers: each turns one kind of source into a stream of tables in the corpus schema."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa

from patentlab.errors import PatentlabError

FORMATS = ("auto", "hub", "csv", "parquet", "jsonl", "uspto-xml", "hub-dataset")
HUB_PREFIX = "hf://"


def detect_format(source: str, encoding: str = "utf-8") -> str:
    """Guess the reader for ``source`` from its prefix, extension and, for CSV, its header."""
    if source.startswith(HUB_PREFIX):
        return "hub-dataset"
    path = Path(source)
    if not path.exists():
        raise PatentlabError("no such file or directory", path=source)
    if path.is_dir():
        return "hub-dataset"
    if path.stat().st_size == 0:
        raise PatentlabError("empty file", path=source)
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith(".xml") or suffixes.endswith(".sgml"):
        return "uspto-xml"
    if suffixes.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if suffixes.endswith(".parquet"):
        return "parquet"
    if suffixes.endswith((".csv", ".tsv")):
        from patentlab.corpus.readers.hub import is_hub_layout, read_header

        return "hub" if is_hub_layout(read_header(path, encoding)) else "csv"
    raise PatentlabError(
        "unknown file type; use --format with one of " + ", ".join(f for f in FORMATS if f != "auto"),
        path=source,
    )


def read_source(
    source: str,
    *,
    fmt: str = "auto",
    column_map: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
) -> Iterator[pa.Table]:
    """Stream ``source`` (a path, or ``hf://owner/name``) as tables in the corpus schema."""
    if fmt not in FORMATS:
        raise PatentlabError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = detect_format(source, encoding)
    elif not source.startswith(HUB_PREFIX) and not Path(source).exists():
        raise PatentlabError("no such file or directory", path=source)
    if fmt == "hub-dataset":
        from patentlab.corpus.readers.hub import read_hub_dataset

        return read_hub_dataset(source.removeprefix(HUB_PREFIX))
    if fmt == "hub":
        from patentlab.corpus.readers.hub import read_hub_csv

        return read_hub_csv(source, encoding=encoding)
    if fmt == "csv":
        from patentlab.corpus.readers.tabular import read_csv

        return read_csv(source, column_map=column_map, encoding=encoding)
    if fmt == "jsonl":
        from patentlab.corpus.readers.tabular import read_jsonl

        return read_jsonl(source, column_map=column_map, encoding=encoding)
    if fmt == "parquet":
        from patentlab.corpus.readers.tabular import read_parquet

        return read_parquet(source, column_map=column_map)
    from patentlab.corpus.readers.uspto_xml import read_uspto_xml

    return read_uspto_xml(source)
