"""Fuzz targets for every parser that reads outside input, shared by the tests and the benchmark.

Each target takes one generated input and checks the parser's contract: it returns normally or
raises :class:`~patentlab.errors.PatentlabError` (a one-line message for the user), never any
other exception; where a round trip is meaningful (patent markdown, JSON replies) it also checks
that what was written is read back unchanged. :func:`strategies` gives the ``hypothesis``
strategy that feeds each target (``hypothesis`` is a development dependency, imported lazily).

========== ===================================================================================
target     input
========== ===================================================================================
csv        corpus CSV files: patent-like columns, hostile cells, raw bytes, bad encodings
jsonl      corpus JSON Lines: objects with wrong types, broken lines, non-objects
parquet    corpus Parquet files: the schema's columns with wrong types and nulls
uspto_xml  real USPTO XML documents with bytes deleted, inserted, replaced or cut off
markdown   generated patent markdown: any text, and round trips of well-formed patents
llm_json   LLM replies: any text, and valid objects wrapped in prose, fences, quirks
========== ===================================================================================
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from patentlab.errors import PatentlabError

#: Column names a corpus file may have (the readers' aliases among them) plus some they must reject.
COLUMNS = ("id", "text", "claims", "title", "abstract", "cpc", "date", "is_green", "Y02E", "doc_type",
           "publication_number", "claim", "label", "", "id ", "ID")  # fmt: skip
#: Small real USPTO documents (three DTD generations) that the XML target mutates.
XML_CHUNKS = (
    b"<",
    b">",
    b"&",
    b"&bogus;",
    b"</claims>",
    b"<claim>",
    b"]]>",
    b"\x00",
    b"\xff",
    b"<!DOCTYPE x [",
)
XML_SEEDS = (
    "uspto_xml/go-uspto/application/v4-0-A1.xml",
    "uspto_xml/go-uspto/application/v1-5-A1_1.xml",
    "uspto_xml/go-uspto/grant/v2-5-S1.xml",
)


def _read_back(name: str, data: bytes | pa.Table, reader: Callable[[str], Any] | None = None) -> None:
    """Write ``data`` to a temporary file ``name`` and read all of it back with ``reader`` (the
    corpus readers by default); a PatentlabError is the one failure allowed."""
    from patentlab.corpus.readers import read_source

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if isinstance(data, pa.Table):
            pq.write_table(data, path)
        else:
            path.write_bytes(data)
        with warnings.catch_warnings(), contextlib.suppress(PatentlabError):
            warnings.simplefilter("ignore")  # readers warn about skipped rows; that is allowed
            sum(t.num_rows for t in (reader or read_source)(str(path)))


def check_csv(data: bytes) -> None:
    _read_back("claims.csv", data)


def check_jsonl(data: bytes) -> None:
    _read_back("records.jsonl", data)


def check_parquet(table: pa.Table) -> None:
    _read_back("records.parquet", table)


def check_uspto_xml(data: bytes) -> None:
    from patentlab.corpus.readers.uspto_xml import read_uspto_xml

    _read_back("doc.xml", data, read_uspto_xml)


def check_markdown(case: tuple[str, Any]) -> None:
    """Any text parses without raising; a well-formed patent reads back field for field."""
    from patentlab.generate.formats import format_patent
    from patentlab.generate.parse import parse_patent

    kind, value = case
    if kind == "text":
        text, finished = value
        parsed = parse_patent(text, finished=finished)
        assert isinstance(parsed.missing, list) and isinstance(parsed.claims, list)
        return
    record, mode = value
    parsed = parse_patent(format_patent(record, mode), finished=True)
    assert parsed.is_complete, parsed.status
    assert (parsed.title, parsed.abstract, parsed.claims) == (
        record["title"],
        record["abstract"],
        record["claims"],
    )
    assert parsed.claim_numbers == list(range(1, len(record["claims"]) + 1))
    assert parsed.mode == mode


def check_llm_json(case: tuple[str, Any]) -> None:
    """Any reply parses and validates without raising; a valid object survives its wrapping."""
    from patentlab.agents.schema import ARGUMENT_SCHEMA, VERDICT_SCHEMA, parse_reply, validate

    kind, value = case
    if kind == "text":
        obj, repairs = parse_reply(value)
        assert obj is None or isinstance(obj, dict)
        assert isinstance(repairs, list)
        for schema in (ARGUMENT_SCHEMA, VERDICT_SCHEMA):
            fields, errors = validate(obj, schema)
            assert (fields is None) == bool(errors)
        return
    obj, wrapped = value
    parsed, _ = parse_reply(wrapped)
    assert parsed == obj, (parsed, obj)
    fields, errors = validate(parsed, VERDICT_SCHEMA)
    assert not errors and fields == obj


TARGETS: dict[str, Callable[[Any], None]] = {
    "csv": check_csv,
    "jsonl": check_jsonl,
    "parquet": check_parquet,
    "uspto_xml": check_uspto_xml,
    "markdown": check_markdown,
    "llm_json": check_llm_json,
}


def strategies() -> dict[str, Any]:
    """The ``hypothesis`` strategy feeding each target in :data:`TARGETS`."""
    from hypothesis import strategies as st

    from patentlab.data import sample_path

    cell = st.one_of(
        st.text(max_size=40),
        st.sampled_from(["", " ", "1", "0", "yes", "null", "NaN", "2020-13-45", "1. A pump.", '"', "\n"]),
        st.integers(-(2**70), 2**70).map(str),
        st.lists(st.text(max_size=8), max_size=3).map(json.dumps),
    )

    @st.composite
    def csv_bytes(draw: Any) -> bytes:
        if draw(st.booleans()):
            return draw(st.binary(max_size=300))
        header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6))
        rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 1), max_size=6))
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
        return buf.getvalue().encode(encoding, errors="replace")

    json_value = st.recursive(
        st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    )
    record = st.dictionaries(st.sampled_from(COLUMNS), json_value, max_size=6)

    @st.composite
    def jsonl_bytes(draw: Any) -> bytes:
        lines = draw(
            st.lists(
                st.one_of(
                    record.map(lambda r: json.dumps(r, allow_nan=True).encode()),
                    json_value.map(lambda v: json.dumps(v).encode()),
                    st.binary(max_size=40),
                ),
                max_size=6,
            )
        )
        return b"\n".join(lines)

    arrow_column = st.sampled_from(
        [
            pa.array(["p1", "p2"]),
            pa.array([1, 2]),
            pa.array([None, None], pa.string()),
            pa.array(["", " "]),
            pa.array([["1. A pump."], []], pa.list_(pa.string())),
            pa.array([[None], None], pa.list_(pa.string())),
            pa.array([1.5, float("nan")]),
            pa.array([True, False]),
            pa.array([b"\xff\xfe", b""], pa.binary()),
            pa.array([{"a": 1}, None], pa.struct([("a", pa.int64())])),
        ]
    )
    parquet_table = st.dictionaries(st.sampled_from(COLUMNS), arrow_column, min_size=1, max_size=6).map(
        pa.table
    )

    seeds = [sample_path(name).read_bytes() for name in XML_SEEDS]

    @st.composite
    def mutated_xml(draw: Any) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data)))
            op = draw(st.sampled_from(["delete", "insert", "replace", "truncate"]))
            chunk = draw(st.one_of(st.binary(min_size=1, max_size=8), st.sampled_from(XML_CHUNKS)))
            if op == "delete":
                del data[at : at + draw(st.integers(1, 64))]
            elif op == "insert":
                data[at:at] = chunk
            elif op == "replace":
                data[at : at + len(chunk)] = chunk
            else:
                del data[at:]
        return bytes(data)

    word = st.text(st.characters(whitelist_categories=("Ll", "Lu")), min_size=1, max_size=10)
    sentence = st.lists(word, min_size=1, max_size=10).map(lambda ws: " ".join(ws) + ".")
    patent = st.fixed_dictionaries(
        {
            "title": st.lists(word, min_size=1, max_size=8).map(" ".join),
            "abstract": st.lists(sentence, min_size=1, max_size=3).map(" ".join),
            "claims": st.lists(sentence, min_size=1, max_size=5),
        }
    )
    markdown_text = st.one_of(
        st.text(max_size=400),
        st.lists(
            st.sampled_from(
                [
                    "# Patent",
                    "## Title",
                    "## Abstract",
                    "## Claims",
                    "1. A pump.",
                    "2. The pump of claim 1",
                    "3)",
                    "## Title",
                    "",
                    "# Patent",
                    "text",
                    "10. x",
                ]
            ),
            max_size=14,
        ).map("\n".join),
    )
    markdown = st.one_of(
        st.tuples(st.just("text"), st.tuples(markdown_text, st.sampled_from([True, False, None]))),
        st.tuples(st.just("patent"), st.tuples(patent, st.sampled_from(["top-down", "bottom-up"]))),
    )

    from patentlab.agents.schema import VERDICT_SCHEMA

    def field(spec: dict) -> Any:
        if "enum" in spec:
            return st.sampled_from(spec["enum"])
        if spec["type"] == "number":
            low, high = spec.get("minimum", -1e6), spec.get("maximum", 1e6)
            return st.floats(low, high, allow_nan=False).map(lambda x: round(x, 3))
        text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
        return text.map(str.strip).filter(bool)

    verdict = st.fixed_dictionaries({k: field(v) for k, v in VERDICT_SCHEMA["properties"].items()})
    prose = st.text(st.characters(blacklist_characters="{}`"), max_size=30)

    @st.composite
    def wrapped_verdict(draw: Any) -> tuple[dict, str]:
        obj = draw(verdict)
        body = json.dumps(obj, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2])))
        style = draw(st.sampled_from(["bare", "prose", "fence"]))
        if style == "prose":
            body = f"{draw(prose)} {body} {draw(prose)}"
        elif style == "fence":
            body = f"{draw(prose)}\n```json\n{body}\n```"
        return obj, body

    llm_text = st.one_of(
        st.text(max_size=200),
        json_value.map(json.dumps),
        st.lists(
            st.sampled_from(
                [
                    "{",
                    "}",
                    '"label"',
                    ":",
                    "1",
                    ",",
                    "'",
                    "```json",
                    "True",
                    '"quote": "x',
                    "confidence",
                    "0.7",
                    "[",
                    "]",
                ]
            ),
            max_size=20,
        ).map("".join),
    )
    llm_json = st.one_of(
        st.tuples(st.just("text"), llm_text), st.tuples(st.just("wrapped"), wrapped_verdict())
    )

    return {
        "csv": csv_bytes(),
        "jsonl": jsonl_bytes(),
        "parquet": parquet_table,
        "uspto_xml": mutated_xml(),
        "markdown": markdown,
        "llm_json": llm_json,
    }
