"""Realism score: a real-vs-generated classifier, out of fold and held out by record.

The heavy test trains it against real samples of the packaged SmolLM2 (the base model, whose
samples are easy to tell from patents); the fast tests are unit tests of the mechanics only,
with real held-out patents against *deliberately corrupted* copies of real patents (every word
spelt backwards), which stand in for nothing the generator writes.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from patentlab.data import sample_path
from patentlab.vet.novelty import load_training_documents
from patentlab.vet.realism import (
    MIN_GENERATIONS,
    RealismClassifier,
    realism_control,
    realism_folds,
    realism_share,
)


@pytest.fixture(scope="module")
def documents():
    docs = load_training_documents(sample_path("full_records_334.jsonl"))
    order = list(range(len(docs)))
    random.Random(0).shuffle(order)  # the file is grouped by source; mix the sources
    return [docs[i] for i in order]


def _corrupted(text: str) -> str:
    return " ".join(word[::-1] for word in text.split())


def test_mechanics_corrupted_texts_are_told_apart(documents):
    """Unit test of the mechanics: real patents spelt backwards (not generator output) are easy."""
    held, reference = documents[:12], documents[12:]
    corrupted = [_corrupted(d.text[:1500]) for d in held]
    result = realism_share(corrupted, [d.text for d in reference], max_real=120)
    print(f"\nspelt backwards: AUC {result.auc}, share taken for real {result.share_accepted}")
    assert result.computed and result.n_generated == 12 and result.n_real == 120
    assert result.auc >= 0.95
    assert result.share_accepted <= 0.1  # nearly none passes as real
    assert len(result.p_real) == 12 and all(0 <= p <= 1 for p in result.p_real)


def test_mechanics_held_out_real_patents_pass_as_real(documents):
    """Unit test of the mechanics: held-out real patents on the 'generated' side pass as real."""
    held, reference = documents[:12], documents[12:]
    result = realism_share([d.text[:1500] for d in held], [d.text for d in reference], max_real=120)
    print(f"\nheld-out real: AUC {result.auc}, share taken for real {result.share_accepted}")
    assert result.computed
    assert result.share_accepted >= 0.5
    assert result.auc <= 0.8


def test_real_texts_in_the_generations_place_pass_about_half_the_time(documents):
    """The control: real patents posing as a batch of generations. The classifier has nothing to
    learn, so about half pass (not all): the ceiling a realism share is read against."""
    texts, ids = [d.text[:1500] for d in documents], [d.id for d in documents]
    control = realism_control(texts, ids, n=12, max_real=120)
    print(f"\nreal in the generations' place: {control}")
    assert control["n"] == 12 and control["draws"] == 5
    assert control["low"] <= control["share"] <= control["high"]
    assert 0.2 <= control["share"] <= 0.8
    assert control["auc"] <= 0.7
    # Too few records for a batch of 12 and a real side.
    assert realism_control(texts[:15], ids[:15], n=12) is None


def test_folds_never_split_a_record():
    labels = [0] * 10 + [1] * 30
    groups = [f"gen-{i}" for i in range(10)] + [f"rec-{i // 2}" for i in range(30)]  # 2 texts per record
    folds = realism_folds(labels, groups, n_splits=5, seed=0)
    assert len(folds) == 5
    for train, test in folds:
        assert not {groups[i] for i in train} & {groups[i] for i in test}
        assert {labels[i] for i in test} == {0, 1}
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(40))


def test_too_few_generations_is_reported_not_computed(documents):
    result = realism_share(["# Patent"] * (MIN_GENERATIONS - 1), [d.text for d in documents[:20]])
    assert not result.computed and "needs 8+" in result.reason
    assert realism_share([], []).computed is False


def test_classifier_is_an_sklearn_estimator(documents):
    from sklearn.base import clone

    texts = [d.text[:800] for d in documents[:20]] + [_corrupted(d.text[:800]) for d in documents[20:40]]
    clf = clone(RealismClassifier(C=10.0)).fit(texts, [1] * 20 + [0] * 20)
    proba = clf.predict_proba(texts[:3])
    assert proba.shape == (3, 2) and np.allclose(proba.sum(1), 1)
    assert list(clf.classes_) == [0, 1] and clf.get_params()["C"] == 10.0


def test_vet_run_reports_the_realism_share(tmp_path, capsys, documents):
    """`patentlab vet run` on 10 held-out real patents: the realism share in summary, report and output."""
    import json

    from patentlab.cli import main
    from patentlab.generate.data import iter_full_records
    from patentlab.generate.formats import format_patent, prompt
    from patentlab.generate.generations import write_generations

    records = [
        r
        for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])
        if r.get("title") and r.get("abstract") and r.get("claims")
    ]
    train = tmp_path / "train.jsonl"
    keys = {"doc_number": "id", "title": "title", "abstract": "abstract", "claims": "claims"}
    train.write_text("".join(json.dumps({k: r[v] for k, v in keys.items()}) + "\n" for r in records[10:60]))
    rows = [
        {"text": format_patent(r), "prompt": prompt(), "finished": True, "seed": i}
        for i, r in enumerate(records[:10])
    ]
    gens = write_generations(tmp_path / "gens.jsonl", rows, {})
    args = ["vet", "run", str(gens), "--training", str(train), "--encoder", "none", "--no-coherence"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    realism = summary["realism"]
    assert realism["computed"] and realism["n_generated"] == 10 and realism["n_real"] == 50
    assert realism["share_before_gates"] == realism["share_accepted"] is not None
    # The gate is calibrated on the real side: 90% of the held-out real patents reach it.
    assert realism["real_pass_share"] >= 0.9 and 0 < realism["gate"] <= 0.5
    passed = [v for v in (json.loads(x) for x in (tmp_path / "out" / "vetted.jsonl").read_text().splitlines())
              if v["accepted"]]  # fmt: skip
    assert all(v["p_real"] >= realism["gate"] for v in passed)
    assert summary["config"]["coherence"] is None
    assert "realism share:" in out and "accepted inventions pass as real" in out
    assert realism["control"]["n"] == 10 and 0 <= realism["control"]["share"] <= 1
    assert "real texts in their place" in out
    assert "realism share:" in (tmp_path / "out" / "report.md").read_text()
    vetted = [json.loads(line) for line in (tmp_path / "out" / "vetted.jsonl").read_text().splitlines()]
    assert all(0 <= v["p_real"] <= 1 for v in vetted)


@pytest.mark.heavy
def test_base_model_samples_are_told_apart_from_real_patents(tmp_path, documents):
    """Real samples of the packaged base SmolLM2, vetted with the realism score on."""
    import torch

    from patentlab.generate.generations import read_generations
    from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex
    from patentlab.vet.vetting import read_vetted, vet_generations

    torch.set_num_threads(2)
    from patentlab.vet.sampling import sample_generations

    gens = sample_generations(None, tmp_path / "g.jsonl", n=8, max_new_tokens=64, batch_size=8, seed=3)
    rows, _ = read_generations(gens)
    assert len(rows) == 8
    index = NoveltyIndex(NoveltyConfig(encoder=None)).fit(documents, show_progress=False)
    report = vet_generations(gens, index, tmp_path / "v", show_progress=False)
    realism = report.realism
    print(f"\nbase SmolLM2 samples: realism {realism}")
    assert realism["computed"] and realism["n_generated"] == 8 and realism["n_real"] > 300
    assert realism["auc"] >= 0.9
    assert realism["share_generated"] <= 0.25
    vetted, summary = read_vetted(tmp_path / "v")
    assert all(v["p_real"] is not None for v in vetted)
    assert summary["realism"]["auc"] == realism["auc"]
    assert summary["realism"]["share"] == realism["share_accepted"]  # None: nothing accepted
    assert "realism share:" in (tmp_path / "v" / "report.md").read_text()
