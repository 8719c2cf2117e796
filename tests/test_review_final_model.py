"""The final model: silver + gold from review, and the three-row iteration table (real training)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from patentlab.data import sample_path

pytestmark = pytest.mark.heavy


def test_three_iterations_measured_on_the_same_eval_set(demo_corpus, tmp_path):
    from patentlab.classify.train import TrainConfig
    from patentlab.corpus.split import split_corpus
    from patentlab.review.final_model import run_final_iterations

    splits = tmp_path / "splits"
    split_corpus(demo_corpus, splits)
    config = TrainConfig(base_model="minilm", epochs=1, max_length=32, batch_size=32, lr=5e-5, warmup_steps=2)
    run = run_final_iterations(
        splits / "train_silver.parquet",
        splits / "eval_silver.parquet",
        sample_path("hitl_gold_100.csv"),
        tmp_path / "final",
        config=config,
    )

    assert [r["method"] for r in run.rows] == [
        "Frozen minilm + Logistic Regression",
        # Gold is class-balanced by default (balance_gold=True), and the method says so.
        "Fine-tuned minilm on silver + gold (single LLM, x5, class-balanced)",
        "Fine-tuned minilm on silver + gold (MAS + HITL, x5, class-balanced)",
    ]
    eval_n = len(pd.read_parquet(splits / "eval_silver.parquet"))
    assert all(r["eval_set"] == "eval_silver" and r["n"] == eval_n and 0 <= r["f1"] <= 1 for r in run.rows)
    table = json.loads((tmp_path / "final" / "iterations.json").read_text())
    assert [round(r["f1"], 6) for r in table] == [round(r["f1"], 6) for r in run.rows]
    for tag in ("single_llm", "mas_hitl"):
        history = json.loads((tmp_path / "final" / f"finetuned_{tag}" / "history.json").read_text())
        assert history["complete"] and len(history["epochs"]) == 1
    gold = pd.read_parquet(run.gold_file)
    human = pd.read_csv(sample_path("hitl_gold_100.csv"))
    assert list(gold["is_green_human"]) == list(human["is_green_human"])


def test_gold_that_leaks_into_the_eval_set_is_refused(tmp_path):
    from patentlab.errors import PatentlabError
    from patentlab.review.final_model import run_final_iterations

    gold = pd.read_csv(sample_path("hitl_gold_100.csv"))
    eval_file = tmp_path / "eval.csv"
    gold.head(10).rename(columns={"is_green_human": "label"})[["doc_id", "text", "label"]].to_csv(
        eval_file, index=False
    )
    with pytest.raises(PatentlabError, match="also in the eval set"):
        run_final_iterations(eval_file, eval_file, sample_path("hitl_gold_100.csv"), tmp_path / "out")


def test_gold_halves_are_stratified_and_disjoint():
    from patentlab.classify.data import load_gold
    from patentlab.review.final_model import split_gold

    gold = load_gold(sample_path("hitl_gold_100.csv"), weight=1.0)
    train, test = split_gold(gold.labels)
    assert len(train) + len(test) == 100 and not set(train) & set(test)
    assert gold.labels[train].sum() == 19 and gold.labels[test].sum() == 19  # 38 green, split evenly
    again, _ = split_gold(gold.labels)
    assert list(again) == list(train)  # seeded


def test_review_model_learns_from_one_gold_half_and_is_measured_on_the_other(splits_for_review, tmp_path):
    """Real claims, real MiniLM, a few steps: the card's format, and figures on held-out gold only."""
    from patentlab.classify.data import capped_subset, load_gold, load_labeled
    from patentlab.classify.model import HEAD_FILE
    from patentlab.classify.train import TrainConfig
    from patentlab.review.final_model import split_gold, train_review_model

    gold = load_gold(sample_path("hitl_gold_100.csv"), weight=1.0)
    train = capped_subset(load_labeled(splits_for_review / "train_silver.parquet"), 32)
    config = TrainConfig(base_model="minilm", epochs=1, max_length=32, batch_size=16, lr=5e-5, warmup_steps=1)
    review = train_review_model(train, gold, tmp_path / "final", config=config, n_boot=50)
    assert (review.model_dir / HEAD_FILE).exists()
    assert review.gold_train == 50 and review.gold_test == 50 and review.train_size == len(train)
    saved = json.loads((tmp_path / "final" / "final.json").read_text())
    (row,) = saved["rows"].values()
    assert row["n"] == 50 and row["green"] == 19 and row["auc_ci"][0] <= row["auc"] <= row["auc_ci"][1]
    # The training set held the other half only.
    _, test_half = split_gold(gold.labels)
    trained = json.loads((review.model_dir / "patentlab_classifier.json").read_text())["train_examples"]
    assert trained == len(train) + 50 and len(test_half) == 50


@pytest.fixture(scope="module")
def splits_for_review(demo_corpus, tmp_path_factory):
    from patentlab.corpus.split import split_corpus

    out = tmp_path_factory.mktemp("splits")
    split_corpus(demo_corpus, out)
    return out
