"""The USPTO XML reader on the bundled real files: every layout, the weekly files, bad input."""

from __future__ import annotations

import json
import re
import warnings
from functools import cache
from pathlib import Path

import pytest

from patentlab.corpus.readers import read_source, uspto_xml
from patentlab.corpus.readers.uspto_xml import XmlReadStats, read_uspto_xml
from patentlab.corpus.schema import PATENT_SCHEMA
from patentlab.data import sample_path
from patentlab.errors import PatentlabError

XML_DIR = sample_path("uspto_xml")
FILES = sorted(str(p.relative_to(XML_DIR)) for p in XML_DIR.rglob("*.xml"))
WEEKLY = {
    # file: (XML declarations, us-patent-grant roots, skipped documents by root tag)
    "patentsview/ipg050104.small.xml": (25, 25, {}),
    "patentsview/ipg130416.small.xml": (27, 25, {"sequence-cwu": 2}),
}
APPLICATION_ROOTS = (b"<us-patent-application", b"<patent-application-publication")
# Trimmed fixtures that really have no claims section (checked against the raw bytes below).
CLAIMLESS = {"20010000001", "20050000001", "20050004655"}
#: Documents of full_records_334.jsonl that were parsed from these files (the nine PatentsView
#: extracts and the single documents).
UNIQUE = 225
# Where the JSONL's own parser lost characters that came from SGML entities, which this reader
# keeps: &plus; in 20010000943, &frac15; in 20010000002. Compared with those characters removed.
JSONL_DROPPED = {"20010000943": "+", "20010000002": "⅕"}
GLUED_NUMBER = re.compile(r"^(\d+)\.(?=[A-Za-z])")


@cache
def read(rel: str) -> tuple[list[dict], XmlReadStats, tuple[str, ...]]:
    """Records, counters and warnings of one bundled file, read once per test session."""
    stats = XmlReadStats()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = [r for table in read_uspto_xml(XML_DIR / rel, stats=stats) for r in table.to_pylist()]
    return records, stats, tuple(str(w.message) for w in caught)


def raw(rel: str) -> bytes:
    return (XML_DIR / rel).read_bytes()


def raw_claim_count(data: bytes) -> int:
    """Claim elements in the raw bytes: ``<claim …>`` (v4.x, PAP) or ``<CLM …>`` (ST.32)."""
    return len(re.findall(rb"<(?:claim|CLM)[\s>]", data))


def raw_documents(data: bytes) -> list[bytes]:
    """The patent documents in the raw bytes (sequence listings and the like left out)."""
    roots = rb"<(us-patent-grant|us-patent-application|patent-application-publication|PATDOC)[\s>]"
    return [doc for doc in re.split(rb"<\?xml\s", data) if re.search(roots, doc)]


def raw_ids(data: bytes) -> list[str]:
    """Document numbers straight from the bytes, one per patent document, in file order."""
    pattern = rb"<B110>\s*<DNUM>\s*<PDAT>([^<]+)</PDAT>|<doc-number>([^<]+)</doc-number>"
    return [b"".join(re.search(pattern, doc).groups(b"")).decode().strip() for doc in raw_documents(data)]


@cache
def jsonl_rows() -> dict[str, dict]:
    rows = [json.loads(line) for line in sample_path("full_records_334.jsonl").open(encoding="utf-8")]
    return {row["doc_number"]: row for row in rows}


def squash(text: str, drop: str = "") -> str:
    return "".join(ch for ch in text if not ch.isspace() and ch not in drop)


@pytest.mark.parametrize("rel", list(WEEKLY))
def test_weekly_files_are_split_into_every_document(rel):
    declarations, grants, skipped = WEEKLY[rel]
    data = raw(rel)
    assert data.count(b"<?xml ") == declarations
    assert len(re.findall(rb"<us-patent-grant[\s>]", data)) == grants

    records, stats, caught = read(rel)
    assert len(records) == stats.documents == grants
    assert [r["id"] for r in records] == raw_ids(data)
    # The root's file attribute ("US06836899-20050104.XML") names each document independently.
    assert [r["id"] for r in records] == [f.decode() for f in re.findall(rb'file="US(\w+)-\d{8}\.XML"', data)]
    assert dict(stats.skipped) == skipped
    assert len(caught) == (1 if skipped else 0)
    if skipped:
        assert "sequence-cwu ×2" in caught[0] and Path(rel).name in caught[0]
    assert sum(len(r["claims"]) for r in records) == raw_claim_count(data)
    assert {r["doc_type"] for r in records} == {"granted"}


@pytest.mark.parametrize("rel", FILES)
def test_every_file_reads_with_real_content(rel):
    data = raw(rel)
    records, stats, _ = read(rel)
    assert [r["id"] for r in records] == raw_ids(data)
    assert not stats.unknown_entities  # every entity in the bundled files maps to a character
    application = any(re.search(re.escape(root) + rb"[\s>]", data) for root in APPLICATION_ROOTS)
    for rec in records:
        assert set(rec) == set(PATENT_SCHEMA.names)
        assert rec["source"] == f"uspto-xml:{Path(rel).name}"
        assert rec["doc_type"] == ("application" if application else "granted")
        assert rec["date"] is not None and 2001 <= rec["date"].year <= 2022
        assert rec["title"]
        assert rec["abstract"] or rec["id"].startswith("D")  # design patents have no abstract
        assert (len(rec["claims"]) == 0) == (rec["id"] in CLAIMLESS)
        for claim in rec["claims"]:
            assert "  " not in claim and claim == claim.strip()
            assert not re.search(r"&[A-Za-z]+;", claim)  # no entity left unresolved
        if rec["id"].startswith("D"):  # design patents: one claim, unnumbered
            claim = rec["claims"][0]
            assert len(rec["claims"]) == 1 and claim.startswith(
                ("The ornamental design", "I claim the ornamental")
            )
        elif rec["claims"]:
            assert re.match(r"1(-\d+)?\. \S", rec["claims"][0]), rec["claims"][0][:40]
    assert sum(len(r["claims"]) for r in records) == raw_claim_count(data)


def test_claimless_fixtures_really_have_no_claims():
    found = {}
    for rel in FILES:
        for rec in read(rel)[0]:
            if not rec["claims"]:
                found[rec["id"]] = rel
    assert set(found) == CLAIMLESS
    for rel in found.values():
        assert raw_claim_count(raw(rel)) == 0
        assert not re.search(rb"<(claims|subdoc-claims|SDOCL)[\s>]", raw(rel))


def test_cross_check_against_full_records_jsonl():
    jsonl = jsonl_rows()
    ours_by_file: dict[str, set[str]] = {}
    compared = 0
    for rel in FILES:
        for rec in read(rel)[0]:
            row = jsonl.get(rec["id"])
            if row is None:
                continue
            ours_by_file.setdefault(Path(rel).name, set()).add(rec["id"])
            compared += 1
            drop = JSONL_DROPPED.get(rec["id"], "")
            assert rec["title"] == " ".join(row["title"].split())
            assert rec["date"].strftime("%Y%m%d") == row["date"]
            assert len(rec["claims"]) == len(row["claims"]), rec["id"]
            for ours, theirs in zip(rec["claims"], row["claims"], strict=True):
                if drop:
                    assert squash(ours, drop) == squash(theirs)
                else:  # the JSONL keeps PAP's "1.A method"; this reader writes "1. A method"
                    assert ours == GLUED_NUMBER.sub(r"\1. ", " ".join(theirs.split()))
            assert squash(rec["abstract"], drop) == squash(row["abstract"])
            assert rec["cpc"] == list(dict.fromkeys(row["cpc"]))  # the JSONL repeats codes
    # Every JSONL row parsed from one of these files is found, and nothing else matched.
    expected: dict[str, set[str]] = {}
    for number, row in jsonl.items():
        name = Path(row["source_file"]).name
        if any(Path(rel).name == name for rel in FILES):
            expected.setdefault(name, set()).add(number)
    assert ours_by_file.keys() <= expected.keys()
    for name, numbers in expected.items():
        assert numbers <= ours_by_file[name], name
    assert sum(map(len, expected.values())) == UNIQUE  # unique documents; 11147202 is in two files
    assert compared == UNIQUE + 1


def test_text_is_flattened_and_entities_resolved():
    first = read("patentsview/ipg050104.small.xml")[0]
    by_id = {r["id"]: r for r in first}
    # Nested <claim-text> clauses become one line; inline <sub> stays glued to its word.
    assert by_id["06836899"]["claims"][0].startswith(
        "1. A holding device for removably holding a napkin over the front of the body or torso of a "
        "user comprising: (a) a lanyard having two ends"
    )
    assert "which code (Cn) is placed on a holder (C)." in by_id["06837358"]["claims"][6]
    # PAP prints the number in bold against the text; it is written "1. A" like everywhere else.
    pap = read("patentpublicdata/pap/US20010000044A1.xml")[0][0]
    assert pap["claims"][0].startswith("1. A method of doing business over a global communications")
    assert pap["claims"][1].startswith("2. The method of claim 1, further comprising")
    # SGML entities (&plus; &frac15; &deg;) become characters instead of vanishing.
    assert "Min−20 nm<t<Min +20 nm (a)" in read("patentpublicdata/pap/US20010000943A1.xml")[0][0]["claims"][0]
    claim8 = read("go-uspto/application/v1-5-A1_2.xml")[0][0]["claims"][7]
    assert claim8.startswith("8. The process of claim 3, wherein") and "about ⅕ of the width" in claim8
    st32 = read("patentpublicdata/sgml/US06337117.xml")[0][0]
    assert any("200° C." in c for c in st32["claims"])
    # A cancelled-claims placeholder is what the application really says.
    assert read("go-uspto/application/v4-4-A2.xml")[0][0]["claims"][0] == "1-18. (canceled)"


def test_cpc_from_the_documents_own_classification_only():
    for rel in FILES:
        data = raw(rel)
        for rec, doc in zip(read(rel)[0], raw_documents(data), strict=True):
            if b"<classifications-cpc>" in doc:
                assert rec["cpc"] and rec["is_green_silver"] == 0 and rec["y02"] == []
            else:  # no CPC section: the silver label stays unknown
                assert rec["cpc"] == [] and rec["is_green_silver"] is None
    v45 = read("go-uspto/grant/v4-5-B1.xml")[0][0]
    # main-cpc then further-cpc; the citations' classification-cpc-text is not the patent's own.
    assert v45["cpc"] == [
        "B60L11/1809",
        "B60K35/00",
        "B60L11/1861",
        "G01C21/26",
        "B60K2350/1076",
        "B60W20/00",
    ]
    with_cpc = [r["id"] for rel in FILES for r in read(rel)[0] if r["cpc"]]
    assert len(with_cpc) == 10  # v4.4+ applications, v4.5 grants, two 2014 grants


def test_tables_are_batched_in_the_corpus_schema(monkeypatch):
    monkeypatch.setattr(uspto_xml, "_BATCH_DOCS", 10)
    tables = list(read_uspto_xml(XML_DIR / "patentsview/ipg050104.small.xml", source="weekly"))
    assert [t.num_rows for t in tables] == [10, 10, 5]
    assert all(t.schema.equals(PATENT_SCHEMA) for t in tables)
    assert set(tables[0]["source"].to_pylist()) == {"weekly"}


def test_read_source_dispatches_xml_files():
    path = XML_DIR / "go-uspto/test.xml"
    ids = [i for table in read_source(str(path)) for i in table["id"].to_pylist()]
    assert ids == ["11147202", "11147203"] == raw_ids(raw("go-uspto/test.xml"))


def test_glued_declarations_bom_and_unknown_entities(tmp_path):
    # Two real documents glued on one line, behind a BOM and blank lines, with an entity no DTD
    # defines: still two documents, the unknown entity dropped and counted.
    # (The real file already indents its second declaration.)
    data = raw("go-uspto/test.xml").replace(b"</us-patent-grant>\n        <?xml", b"</us-patent-grant><?xml")
    assert data.count(b"><?xml") == 1
    data = data.replace(b"Wheeled hand truck<", b"Wheeled &bogus;hand truck<", 1)
    path = tmp_path / "glued.xml"
    path.write_bytes(b"\xef\xbb\xbf\n\n" + data)
    stats = XmlReadStats()
    records = [r for t in read_uspto_xml(path, stats=stats) for r in t.to_pylist()]
    assert [r["id"] for r in records] == ["11147202", "11147203"]
    assert records[0]["title"] == "Wheeled hand truck"
    assert dict(stats.unknown_entities) == {"bogus": 1}


def test_truncated_weekly_file_names_file_line_and_document(tmp_path):
    lines = raw("patentsview/ipg050104.small.xml").splitlines(keepends=True)
    path = tmp_path / "ipg_truncated.xml"
    path.write_bytes(b"".join(lines[:1200]))  # document 2 spans lines 917-1508
    with pytest.raises(PatentlabError) as info:
        list(read_uspto_xml(path))
    message = str(info.value)
    assert message.startswith(f"{path}, row 2: malformed XML at line 1201")
    assert "document 2 in the file, starting at line 917" in message
    assert "Premature end of data" in message
    assert info.value.row == 2 and info.value.path == str(path)
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no lxml traceback


def test_malformed_document_mid_file_reports_the_file_line(tmp_path):
    lines = raw("patentsview/ipg050104.small.xml").splitlines(keepends=True)
    assert lines[1508].startswith(b"<?xml") and lines[1521] == b"<document-id>\n"
    lines[1521] = b"<document-id>\n</wrong>\n"  # file line 1523, inside document 3
    path = tmp_path / "ipg_bad.xml"
    path.write_bytes(b"".join(lines))
    with pytest.raises(
        PatentlabError,
        match=r"malformed XML at line 1523, .*document 3 .*line 1509\): .*document-id line 1522",
    ):
        list(read_uspto_xml(path))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (b"\n  \n", "no USPTO patent documents found"),
        (b"Claims of my invention, as plain text.\nNot XML.\n", "malformed XML at line 1"),
    ],
    ids=["empty", "blank", "plain text"],
)
def test_files_without_patents_raise(tmp_path, content, expected):
    path = tmp_path / "input.xml"
    path.write_bytes(content)
    with pytest.raises(PatentlabError, match=re.escape(expected)) as info:
        list(read_uspto_xml(path))
    assert str(info.value).startswith(str(path))


def test_only_unrecognised_documents_raise(tmp_path):
    # The first sequence listing of the 2013 weekly file, on its own.
    lines = raw("patentsview/ipg130416.small.xml").splitlines(keepends=True)
    assert lines[8087].startswith(b"<sequence-cwu")
    path = tmp_path / "sequence.xml"
    path.write_bytes(b"".join(lines[8085:12527]))
    with pytest.raises(PatentlabError, match=r"no USPTO patent documents found; .*sequence-cwu ×1"):
        list(read_uspto_xml(path))
    with pytest.raises(PatentlabError, match="no such file"):
        list(read_uspto_xml(tmp_path / "missing.xml"))


def test_reading_in_small_blocks_finds_the_same_documents(monkeypatch):
    # Blocks always end at a line end, so no declaration is cut in two: try a block size that
    # would cut the second declaration after "<?x".
    rel = "patentsview/ipg130416.small.xml"
    monkeypatch.setattr(uspto_xml, "_READ_SIZE", raw(rel).index(b"<?xml", 1) + 3)
    with pytest.warns(UserWarning, match="sequence-cwu"):
        records = [r for t in read_uspto_xml(XML_DIR / rel) for r in t.to_pylist()]
    assert records == read(rel)[0]
