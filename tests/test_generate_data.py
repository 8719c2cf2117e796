"""Building training text from the bundled full records: both formats, de-duplicated, with licences."""

from __future__ import annotations

import json

import pytest

from patentlab.cli import main
from patentlab.data import sample_path
from patentlab.errors import PatentlabError
from patentlab.generate.data import (
    HELDOUT_FILE,
    MANIFEST_FILE,
    TRAIN_FILE,
    UNKNOWN_LICENCE,
    build_data,
    read_texts,
)
from patentlab.generate.parse import parse_patent

FULL_RECORDS = str(sample_path("full_records_334.jsonl"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "data"
    report = build_data([FULL_RECORDS], out, heldout_fraction=0.1, seed=3)
    return out, report


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_both_formats_mixed_and_deduplicated(built):
    out, report = built
    assert report.records_read == 334
    # Two inventions appear twice (same title and abstract under different ids).
    assert report.duplicates == 2 and report.records_used == 332
    assert report.heldout_records == 33 and report.train_records == 299
    train = _rows(out / TRAIN_FILE)
    assert len(train) == report.train_docs == 2 * 299
    assert {r["mode"] for r in train[:20]} == {"top-down", "bottom-up"}  # shuffled together
    for row in train[:50]:
        parsed = parse_patent(row["text"], finished=True)
        assert parsed.is_complete and parsed.mode == row["mode"]


def test_heldout_records_never_leak_into_training(built):
    out, _ = built
    train_ids = {r["id"] for r in _rows(out / TRAIN_FILE)}
    heldout_ids = {r["id"] for r in _rows(out / HELDOUT_FILE)}
    assert heldout_ids and not train_ids & heldout_ids
    train_titles = {parse_patent(r["text"]).title for r in _rows(out / TRAIN_FILE)}
    assert not train_titles & {parse_patent(r["text"]).title for r in _rows(out / HELDOUT_FILE)}


def test_manifest_keeps_every_records_source_and_licence(built):
    out, report = built
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert len(manifest["records"]) == 332
    assert sum(manifest["report"]["licences"].values()) == 332
    assert manifest["report"]["licences"]["BSD-2-Clause (repo); USPTO text public domain"] == 209
    assert UNKNOWN_LICENCE not in manifest["report"]["licences"]
    assert all(r["source"].startswith("jsonl:full_records_334.jsonl|") for r in manifest["records"])
    assert report.licences == manifest["report"]["licences"]


def test_same_seed_same_data(built, tmp_path):
    out, _ = built
    build_data([FULL_RECORDS], tmp_path / "again", heldout_fraction=0.1, seed=3)
    assert (tmp_path / "again" / TRAIN_FILE).read_bytes() == (out / TRAIN_FILE).read_bytes()
    assert read_texts(tmp_path / "again", "heldout") == read_texts(out, "heldout")


def test_claim_only_sources_are_refused_with_a_clear_message(tmp_path):
    with pytest.raises(PatentlabError, match="full records"):
        build_data([str(sample_path("y02_claims_1100.csv"))], tmp_path / "d")


def test_cli_build_data_and_one_line_errors(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["generate", "build-data", FULL_RECORDS, "--out", str(out), "--max-chars", "3000"]) == 0
    assert (out / MANIFEST_FILE).exists()
    for text in read_texts(out):  # fits the budget, or claim 1 alone is longer than it
        assert len(text) <= 3000 or len(parse_patent(text).claims) == 1
    assert main(["generate", "build-data", str(tmp_path / "nope.jsonl"), "--out", str(out)]) == 2
    assert main(["generate", "build-data", FULL_RECORDS, "--out", str(out), "--mode", "sideways"]) == 2
    assert main(["generate", "perplexity", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no such file" in err and "unknown mode" in err
