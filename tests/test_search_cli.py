"""``patentlab search …`` end to end on real records, and its one-line errors."""

from __future__ import annotations

import json

import pytest

from patentlab.cli import main
from patentlab.data import sample_path


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Twelve real USPTO full records, and a published-style file with one more in the corpus schema."""
    lines = sample_path("full_records_334.jsonl").read_text(encoding="utf-8").splitlines()
    folder = tmp_path_factory.mktemp("records")
    first = folder / "first.jsonl"
    first.write_text("\n".join(lines[:12]) + "\n", encoding="utf-8")
    rec = json.loads(lines[12])
    published = {
        "id": "PLOI-AAAAAAAAAAAAAAAAAAAA",
        "title": rec["title"],
        "abstract": rec["abstract"],
        "claims": rec["claims"],
        "cpc": ["Y02E10/50"],
        "doc_type": "generated",
        "date": "2026-11-21",
        "p_green": 0.83,
        "provenance": json.dumps({"model": "kl3m-002-170m-patent", "seed": 3}),
    }
    second = folder / "inventions.jsonl"
    second.write_text(json.dumps(published) + "\n", encoding="utf-8")
    return first, second, rec


def test_index_query_similar_show_and_add(records, tmp_path, capsys):
    first, second, rec = records
    index = tmp_path / "index"
    assert main(["search", "index", str(first), "--index", str(index)]) == 0
    assert "12 documents added" in capsys.readouterr().out
    assert main(["search", "index", str(first), str(second), "--index", str(index)]) == 0
    assert "1 documents added, 12 already indexed; 13 in" in " ".join(capsys.readouterr().out.split())

    assert (
        main(["search", "query", rec["title"], "--index", str(index), "--json", "--source", "generated"]) == 0
    )
    body = json.loads(capsys.readouterr().out)
    assert [h["id"] for h in body["hits"]] == ["PLOI-AAAAAAAAAAAAAAAAAAAA"]
    assert body["hits"][0]["green"] is True and body["hits"][0]["y02"] == ["Y02E"]

    assert (
        main(["search", "similar", "PLOI-AAAAAAAAAAAAAAAAAAAA", "--index", str(index), "-k", "3", "--json"])
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)["hits"]) == 3

    assert main(["search", "show", "PLOI-AAAAAAAAAAAAAAAAAAAA", "--index", str(index)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["extra"]["provenance"]["model"] == "kl3m-002-170m-patent" and shown["p_green"] == 0.83

    assert main(["search", "query", "solar", "--index", str(index), "--y02", "Y99"]) == 2
    assert "unknown Y02 category" in capsys.readouterr().err
    assert main(["search", "show", "nope", "--index", str(index)]) == 2


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["search", "query", "x", "--index", str(tmp_path)]) == 2
    assert "no search index here" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "claims": ["a claim"], "doc_type": "patent"}\n', encoding="utf-8")
    assert main(["search", "index", str(bad), "--index", str(tmp_path / "i")]) == 2
    err = capsys.readouterr().err
    assert "doc_type" in err and "row 1" in err and len(err.strip().splitlines()) == 1
    # A damaged manifest (a cut-off copy, a hand edit) names the file instead of a traceback.
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "index.json").write_text('{"format": 2,', encoding="utf-8")
    assert main(["search", "query", "x", "--index", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "index.json" in err and "not valid JSON" in err and len(err.strip().splitlines()) == 1
