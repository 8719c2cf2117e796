"""Heavy: a real sampled batch from the packaged generator, vetted with MiniLM and a real
classifier, then published; and the demo stage on a tiny batch."""

from __future__ import annotations

import json

import pytest

from patentlab.data import sample_path

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def classifier():
    import csv

    from patentlab.classify.baseline import FrozenEncoderClassifier

    with open(sample_path("hitl_gold_100.csv"), encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:40]
    return FrozenEncoderClassifier("minilm").fit(
        [r["text"] for r in rows], [int(r["is_green_human"]) for r in rows]
    )


def test_sample_vet_publish(tmp_path, classifier):
    import torch

    from patentlab.generate.generations import read_generations
    from patentlab.publish.publish import publish, read_published
    from patentlab.vet.sampling import sample_generations, weights_sha256
    from patentlab.vet.vetting import read_vetted, vet_generations

    torch.set_num_threads(2)
    gens = sample_generations(None, tmp_path / "g.jsonl", n=3, max_new_tokens=24, batch_size=3, seed=1)
    rows, meta = read_generations(gens)
    assert len(rows) == 3 and all(r.text.startswith("# Patent\n\n## Title\n") for r in rows)
    assert meta["cost"]["tokens"] == sum(r.new_tokens for r in rows) > 0
    assert meta["cost"]["cpu_seconds"] > 0 and meta["cost"]["wall_seconds"] > 0
    assert meta["model"]["weights_sha256"] == weights_sha256(meta["model"]["resolved"])
    assert len(meta["model"]["weights_sha256"]) == 64

    report = vet_generations(
        gens, sample_path("full_records_334.jsonl"), tmp_path / "v", classifier=classifier
    )
    assert report.n_generated == 3 and report.cost["generation_cost_known"]
    assert report.diversity["mean_pairwise_distance"] is not None
    vetted, _ = read_vetted(tmp_path / "v")
    assert all(v["novelty"]["cosine"] is not None and v["novelty"]["cosine_doc"] for v in vetted)

    # Score and publish a real held-out style record through the same path, to see p_green land.
    from patentlab.generate.data import iter_full_records
    from patentlab.generate.formats import format_patent, prompt
    from patentlab.generate.generations import write_generations
    from patentlab.vet.checks import parse_record, run_checks
    from patentlab.vet.novelty import NoveltyIndex, load_training_documents

    records = list(iter_full_records([str(sample_path("full_records_334.jsonl"))]))
    passing = next(r for r in reversed(records) if r.get("abstract") and run_checks(parse_record(r)).passed)
    index = NoveltyIndex().fit(load_training_documents(sample_path("full_records_334.jsonl"))[:50])
    real = write_generations(
        tmp_path / "r.jsonl",
        [{"text": format_patent(passing), "prompt": prompt(), "finished": True, "seed": 0}],
        meta,
    )
    report = vet_generations(real, index, tmp_path / "rv", classifier=classifier)
    assert report.n_accepted == 1 and report.green["scored"]
    publish(tmp_path / "rv", tmp_path / "pub")
    (record,) = read_published(tmp_path / "pub")
    assert 0.0 <= record["p_green"] <= 1.0
    assert record["provenance"]["weights_sha256"] == meta["model"]["weights_sha256"]


def test_demo_stage_on_a_tiny_batch(tmp_path, monkeypatch):
    from patentlab.pipeline import vet as demo
    from patentlab.pipeline.context import DemoContext

    batches = ({**demo.DEMO_BATCHES[0], "n": 2}, {**demo.DEMO_BATCHES[1], "n": 2})
    monkeypatch.setattr(demo, "DEMO_BATCHES", batches)
    monkeypatch.setattr(demo, "DEMO_SAMPLING", {**demo.DEMO_SAMPLING, "max_new_tokens": 24})
    ctx = DemoContext(workdir=tmp_path)
    demo.run(ctx)
    for batch in batches:
        summary = json.loads((tmp_path / "vet" / batch["name"] / "vetted" / "summary.json").read_text())
        assert summary["n_generated"] == 2
    topic_batch = tmp_path / "vet" / batches[1]["name"] / demo.GENERATIONS
    rows = [json.loads(line) for line in topic_batch.read_text().splitlines()]
    # Without a corpus index there is nothing to combine: the model writes on the topic's words.
    assert all(r["topic"]["words"] == "photovoltaic solar cell" for r in rows)
    assert all("photovoltaic" in r["prompt"].lower() for r in rows)
    assert (tmp_path / "publish" / "inventions.parquet").exists()
    demo.run(ctx)  # the second run reuses the outputs
    assert ctx.outputs["vet"] == tmp_path / "vet"
