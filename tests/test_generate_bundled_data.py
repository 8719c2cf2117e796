"""Training text from every bundled full record: the nine USPTO weekly-grant extracts and the JSONL sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patentlab.data import sample_path
from patentlab.generate.data import (
    MANIFEST_FILE,
    UNKNOWN_LICENCE,
    USPTO_XML_LICENCE,
    build_data,
    bundled_full_record_sources,
    iter_full_records,
)
from patentlab.generate.formats import claim_items, clean_field


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundled") / "data"
    report = build_data(bundled_full_record_sources(), out, heldout_fraction=0.1, seed=0)
    return out, report, json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))


def test_sources_are_the_nine_extracts_and_the_jsonl():
    sources = bundled_full_record_sources()
    names = [Path(s).name for s in sources]
    weeks = ("050104", "060103", "070102", "080101", "090106", "100105", "110104", "120103", "130416")
    assert names[:-1] == [f"ipg{week}.small.xml" for week in weeks]
    assert names[-1] == "full_records_334.jsonl"
    assert all(Path(s).is_file() for s in sources)


def test_every_grant_of_the_extracts_is_read_with_a_public_domain_licence():
    xml = bundled_full_record_sources()[:-1]
    records = list(iter_full_records(xml))
    assert len(records) == 225  # 25 grants in each of the 9 extracts
    assert {r["license"] for r in records} == {USPTO_XML_LICENCE}
    # A folder is read as its files: the same 225 grants.
    assert len(list(iter_full_records([str(sample_path("uspto_xml/patentsview"))]))) == 225


def test_all_records_read_duplicates_dropped(bundled):
    _, report, manifest = bundled
    assert report.records_read == 225 + 334
    # The design patents of the extracts have no abstract; everything else is complete.
    assert report.skipped_incomplete == 24
    # The JSONL sample was parsed from the same extracts: each of their 201 complete grants is
    # there twice, plus two inventions the JSONL holds under two ids.
    assert report.duplicates == 203
    assert report.records_used == report.records_read - report.skipped_incomplete - report.duplicates == 332
    ids = [r["id"] for r in manifest["records"]]
    assert len(ids) == len(set(ids)) == report.records_used
    keys = [clean_field(r["title"]).lower() for r in manifest["records"]]
    assert all(keys)
    assert report.train_records + report.heldout_records == report.records_used


def test_manifest_names_every_records_licence(bundled):
    _, report, manifest = bundled
    licences = {r["license"] for r in manifest["records"]}
    assert UNKNOWN_LICENCE not in licences
    assert report.licences[USPTO_XML_LICENCE] == 201  # the extracts come first and keep their grants
    assert sum(report.licences.values()) == report.records_used
    assert any("public domain" in lic for lic in licences)
    xml_sources = {s for s in manifest["sources"] if s and s.startswith("uspto-xml:ipg")}
    assert len(xml_sources) == 9


def test_full_claims_of_the_grants_reach_the_training_text(bundled):
    out = bundled[0]
    grant = next(r for r in iter_full_records(bundled_full_record_sources()[:1]) if len(r["claims"]) >= 10)
    docs = [json.loads(line) for name in ("train.jsonl", "heldout.jsonl")
            for line in (out / name).read_text(encoding="utf-8").splitlines()]  # fmt: skip
    texts = [d["text"] for d in docs if d["id"] == grant["id"]]
    assert len(texts) == 2  # top-down and bottom-up
    last_number, last_claim = claim_items(grant["claims"])[-1]
    assert all(f"\n{last_number}. {last_claim}" in t for t in texts)
