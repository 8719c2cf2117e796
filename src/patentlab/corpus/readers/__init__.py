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
        raise PatentlabError("is a directory; expand it with expand_sources() first", path=source)
    if path.stat().st_size == 0:
        raise PatentlabError("empty file", path=source)
    suffixes = "".join(path.suffixes[-2:]).lower().removesuffix(".gz")
    if suffixes.endswith((".xml", ".sgml")) and not path.name.lower().endswith(".gz"):
        return "uspto-xml"
    if suffixes.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if suffixes.endswith(".parquet"):
        return "parquet"
    if suffixes.endswith((".csv", ".tsv")):
        from patentlab.corpus.readers.hub import is_hub_layout
        from patentlab.corpus.readers.text import read_header

        return "hub" if is_hub_layout(read_header(path, encoding)) else "csv"
    raise PatentlabError(
        "unknown file type; use --format with one of " + ", ".join(f for f in FORMATS if f != "auto"),
        path=source,
    )


#: File name endings that a directory given as a source is searched for.
KNOWN_SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl", ".json", ".ndjson", ".xml", ".csv.gz", ".jsonl.gz")


def expand_sources(sources: list[str], fmt: str = "auto") -> list[str]:
    """Replace each directory among ``sources`` by the readable files under it, sorted.

    With ``fmt="hub-dataset"`` a directory is left alone: ``datasets`` reads it as one dataset.
    """
    expanded: list[str] = []
    for source in sources:
        path = Path(source)
        if fmt == "hub-dataset" or source.startswith(HUB_PREFIX) or not path.is_dir():
            expanded.append(source)
            continue
        files = sorted(
            str(p) for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(KNOWN_SUFFIXES)
        )
        if not files:
            raise PatentlabError(f"no {', '.join(KNOWN_SUFFIXES)} files in this directory", path=source)
        expanded.extend(files)
    return expanded


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
