"""Publication: stable ids, idempotent republication, corpus-schema export, escaped HTML."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from publish_data import generation_rows

from patentlab.cli import main
from patentlab.corpus.readers import read_source
from patentlab.corpus.schema import FIELDS
from patentlab.data import sample_path
from patentlab.generate.data import iter_full_records
from patentlab.generate.formats import format_patent, prompt
from patentlab.generate.generations import write_generations
from patentlab.publish.ids import content_id
from patentlab.publish.publish import JSONL_FILE, PARQUET_FILE, SITE_DIR, publish, read_published
from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex, load_training_documents
from patentlab.vet.vetting import vet_generations

META = {
    "model": {"name_or_path": "runs/generate/model", "weights_sha256": "cd" * 32},
    "sampling": {"mode": "top-down", "temperature": 0.8, "top_p": 0.95},
    "seed": 11,
    "device": "cpu",
    "cost": {"wall_seconds": 10.0, "cpu_seconds": 20.0, "tokens": 900},
}
EVIL = '<script>alert("x")</script> & <img src=x onerror="y">'


@pytest.fixture(scope="module")
def records():
    return [
        r
        for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])
        if r.get("title") and r.get("abstract") and len(r.get("claims") or []) > 2
    ][:40]


@pytest.fixture(scope="module")
def index(records):
    docs = {d.id: d for d in load_training_documents(sample_path("full_records_334.jsonl"))}
    return NoveltyIndex(NoveltyConfig(encoder=None)).fit(
        [docs[r["id"]] for r in records[8:]], show_progress=False
    )


def _vet(tmp_path, records, index, picks, name="vetted"):
    gens = write_generations(tmp_path / f"{name}.jsonl", generation_rows(records, picks), META)
    # Publication is under test, not vet: skip the coherence check, which loads MiniLM per call.
    vet_generations(gens, index, tmp_path / name, show_progress=False, coherence=False)
    return tmp_path / name


def _snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_content_id_is_stable_and_normalised():
    a = content_id("Solar  Panel", "An abstract.", ["1. A panel comprising a cell."])
    assert a == content_id("solar panel", " An  abstract. ", ["A panel comprising a cell."])
    assert a.startswith("PLOI-") and len(a) == 25
    assert a != content_id("Solar panel", "An abstract.", ["1. A panel comprising two cells."])
    assert content_id("a b", "c", []) != content_id("a", "b c", [])


def test_publication_is_idempotent(tmp_path, records, index):
    vetted = _vet(tmp_path, records, index, [0, 1, 2, 3, 20])  # 20 is in the training data
    first = publish(vetted, tmp_path / "pub")
    assert (first.accepted, first.new, first.total) == (4, 4, 4)
    before = _snapshot(tmp_path / "pub")
    again = publish(vetted, tmp_path / "pub", published_at="2099-01-01T00:00:00Z")
    assert (again.new, again.already_published, again.total) == (0, 4, 4)
    assert _snapshot(tmp_path / "pub") == before  # byte for byte, Parquet and site included


def test_a_new_batch_adds_only_new_inventions_and_keeps_dates(tmp_path, records, index):
    publish(
        _vet(tmp_path, records, index, [0, 1], "a"), tmp_path / "pub", published_at="2026-01-02T03:04:05Z"
    )
    report = publish(
        _vet(tmp_path, records, index, [1, 2], "b"), tmp_path / "pub", published_at="2026-02-01T00:00:00Z"
    )
    assert (report.new, report.already_published, report.total) == (1, 1, 3)
    dates = {r["title"]: r["published_at"] for r in read_published(tmp_path / "pub")}
    assert dates[records[1]["title"]] == "2026-01-02T03:04:05Z"
    assert dates[records[2]["title"]] == "2026-02-01T00:00:00Z"


def test_exports_in_the_corpus_schema_with_provenance(tmp_path, records, index):
    publish(_vet(tmp_path, records, index, [0, 1]), tmp_path / "pub", published_at="2026-03-04T05:06:07Z")
    table = pq.read_table(tmp_path / "pub" / PARQUET_FILE)
    assert table.column_names[: len(FIELDS)] == list(FIELDS)
    assert set(table.column("doc_type").to_pylist()) == {"generated"}
    # The search step reads the export with the corpus readers, next to real patents.
    read_back = next(read_source(str(tmp_path / "pub" / PARQUET_FILE))).to_pylist()
    assert {r["id"] for r in read_back} == set(table.column("id").to_pylist())
    assert read_back[0]["claims"][0].startswith("1. ")

    rec = json.loads((tmp_path / "pub" / JSONL_FILE).read_text().splitlines()[0])
    assert rec["published_at"] == "2026-03-04T05:06:07Z" and rec["date"] == "2026-03-04"
    prov = rec["provenance"]
    assert prov["model"] == "runs/generate/model" and prov["weights_sha256"] == "cd" * 32
    assert prov["sampling"]["temperature"] == 0.8 and prov["batch_seed"] == 11
    assert prov["prompt"] == prompt() and prov["seed"] in (0, 1)
    assert json.loads(table.column("provenance")[0].as_py())["weights_sha256"] == "cd" * 32


def test_html_is_escaped_and_self_contained(tmp_path, records, index):
    evil = dict(records[0], title=EVIL, abstract="Flow < 5 & pressure > 2. " + records[0]["abstract"])
    rows = [{"text": format_patent(evil), "prompt": prompt(), "finished": True, "seed": 0}]
    gens = write_generations(tmp_path / "g.jsonl", rows, META)
    vet_generations(
        gens, index, tmp_path / "v", show_progress=False, coherence=False
    )  # a script title is incoherent on purpose
    report = publish(tmp_path / "v", tmp_path / "pub", title="Site <i>title</i>")
    assert report.total == 1
    site = tmp_path / "pub" / SITE_DIR
    pages = [site / "index.html", *sorted((site / "inventions").glob("*.html"))]
    assert len(pages) == 2
    for page in pages:
        html = page.read_text()
        assert "<script>" not in html and "<img" not in html and "<i>title</i>" not in html
        assert (
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=&quot;y&quot;&gt;"
            in html
        )
        assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "Flow &lt; 5 &amp; pressure &gt; 2." in pages[1].read_text()


def test_cli(tmp_path, capsys, records, index):
    vetted = _vet(tmp_path, records, index, [0, 1])
    assert main(["publish", "run", str(vetted), "--out", str(tmp_path / "pub")]) == 0
    assert "published 2 new of 2 accepted" in capsys.readouterr().out
    assert main(["publish", "run", str(tmp_path / "missing")]) == 2
    assert "not a vetting run" in capsys.readouterr().err
