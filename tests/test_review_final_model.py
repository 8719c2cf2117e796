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
