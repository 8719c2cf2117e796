"""Query strategies and rounds on real data: the gold file's baseline scores and MiniLM embeddings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patentlab.active import (
    REGISTRY,
    RoundLedger,
    entropy,
    margin,
    redundancy,
    select,
    select_round,
    uncertainty,
)
from patentlab.active.rounds import QUEUE_COLUMNS, read_ids
from patentlab.active.strategies import as_proba
from patentlab.cli import main
from patentlab.data import sample_path
from patentlab.errors import PatentlabError


@pytest.fixture(scope="module")
def gold() -> pd.DataFrame:
    """The 100 human-reviewed claims with the card's baseline p_green and u."""
    frame = pd.read_csv(sample_path("hitl_gold_100.csv"), dtype={"doc_id": str})
    return frame.rename(columns={"doc_id": "id"})


@pytest.fixture(scope="module")
def gold_embeddings(gold) -> np.ndarray:
    from patentlab.embed.encoder import Encoder

    return Encoder("minilm", max_length=128, cache=False).encode(gold["text"].tolist(), show_progress=False)


def test_uncertainty_reproduces_the_cards_u_column(gold):
    # The published gold file was selected with u = 1 − 2|p − 0.5|; the formula must give its u back.
    u = uncertainty(gold["p_green"].to_numpy())
    np.testing.assert_allclose(u, gold["u"].to_numpy(), atol=1e-9)
    assert u.min() > 0.98 and u.max() <= 1.0


def test_binary_strategies_rank_alike_and_multiclass_ones_do_not(gold):
    p = gold["p_green"].to_numpy()
    np.testing.assert_allclose(margin(p), uncertainty(p), atol=1e-12)
    assert list(np.argsort(-entropy(p), kind="stable")) == list(np.argsort(-uncertainty(p), kind="stable"))
    # Three classes: a confident-but-split top two vs a flat distribution.
    probs = np.array([[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]])
    assert margin(probs)[0] > margin(probs)[1]  # margin: the 50/50 pair is the most ambiguous
    assert entropy(probs)[1] > entropy(probs)[0]  # entropy: the flat row is the most uncertain
    np.testing.assert_allclose(uncertainty(np.array([0.5, 0.9, 0.0])), [1.0, 0.2, 0.0])


@pytest.mark.parametrize("strategy", ["uncertainty", "margin", "entropy", "diverse"])
def test_every_strategy_on_real_embeddings(strategy, gold, gold_embeddings):
    p = gold["p_green"].to_numpy()
    exclude = np.zeros(len(p), dtype=bool)
    exclude[np.argmax(uncertainty(p))] = True  # the single most uncertain claim is already labelled
    chosen = select(strategy, p, 10, embeddings=gold_embeddings, exclude=exclude)
    assert len(chosen.indices) == 10 == len(set(chosen.indices.tolist()))
    assert not exclude[chosen.indices].any()
    assert np.all(np.diff(chosen.scores) <= 1e-12)  # best first
    # Every pick comes from the uncertain head of the pool (top half at most).
    assert uncertainty(p)[chosen.indices].min() >= np.median(uncertainty(p))


def test_diverse_batch_skips_repeated_claims(gold, gold_embeddings):
    # Real corpora repeat claims under new ids (continuations, re-issues): repeat the 5 most
    # uncertain claims. Plain uncertainty then spends half its batch on copies; diverse does not.
    p = gold["p_green"].to_numpy()
    top5 = np.argsort(-uncertainty(p), kind="stable")[:5]
    p2 = np.concatenate([p, p[top5]])
    emb2 = np.concatenate([gold_embeddings, gold_embeddings[top5]])
    plain = select("uncertainty", p2, 10)
    diverse = select("diverse", p2, 10, embeddings=emb2)
    assert redundancy(emb2[plain.indices])["near_duplicate_pairs"] >= 5
    assert redundancy(emb2[diverse.indices])["near_duplicate_pairs"] == 0
    assert redundancy(emb2[diverse.indices])["mean_cosine"] < redundancy(emb2[plain.indices])["mean_cosine"]


def test_rounds_never_reselect_a_queued_or_labelled_claim(gold, gold_embeddings, tmp_path):
    pool = gold[["id", "text"]]
    p = gold["p_green"].to_numpy()
    ledger = RoundLedger(tmp_path / "active")
    first, summary1 = select_round(pool, p, ledger, strategy="uncertainty", k=20)
    assert list(first.columns) == list(QUEUE_COLUMNS)
    assert summary1["round"] == 1 and set(first["round"]) == {1}
    assert summary1["u_min"] == pytest.approx(first["u"].min()) and summary1["u_max"] <= 1.0

    labelled = tmp_path / "gold_ids.csv"
    pd.DataFrame({"doc_id": gold["id"].iloc[-5:]}).to_csv(labelled, index=False)
    again = RoundLedger(tmp_path / "active")  # a new process reads the ledger from disk
    second, summary2 = select_round(pool, p, again, strategy="diverse", k=20, embeddings=gold_embeddings,
                                    labelled_ids=read_ids(labelled))  # fmt: skip
    assert summary2["round"] == 2 and summary2["excluded"] == 20 + len(
        set(gold["id"].iloc[-5:]) - set(first["id"])
    )
    assert not set(second["id"]) & set(first["id"])
    assert not set(second["id"]) & set(gold["id"].iloc[-5:])
    assert [r["round"] for r in RoundLedger(tmp_path / "active").rounds] == [1, 2]


def test_bad_input_is_a_one_line_error(gold):
    with pytest.raises(PatentlabError, match="unknown strategy"):
        select("random", gold["p_green"].to_numpy(), 5)
    with pytest.raises(PatentlabError, match="needs embeddings"):
        select("diverse", gold["p_green"].to_numpy(), 5)
    with pytest.raises(PatentlabError, match="in \\[0, 1\\]"):
        uncertainty(np.array([0.2, 1.3]))


def test_cli_select_with_a_scores_file(gold, tmp_path, capsys):
    pool = tmp_path / "pool.csv"
    gold[["id", "text"]].to_csv(pool, index=False)
    scores = tmp_path / "scores.csv"
    gold[["id", "p_green"]].to_csv(scores, index=False)
    out = tmp_path / "active"
    args = ["active", "select", str(pool), "--scores", str(scores), "--k", "100", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "0.9850–1.0000" in text  # the gold file's u range (the card's 5,000-claim pool: 0.9710–0.9997)
    assert main(args) == 2  # round 2: every claim is already queued
    assert "already labelled or queued" in capsys.readouterr().err
    assert (
        main(["active", "select", str(pool), "--scores", str(scores), "--out", str(out), "--strategy", "x"])
        == 2
    )
    assert main(["active", "rounds", str(out)]) == 0


# The QueryStrategy family: every registered strategy passes the same conformance checks.


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_registered_strategy_conforms(name):
    from patentlab.active.strategies import QueryStrategy

    strategy = REGISTRY[name]
    assert isinstance(strategy, QueryStrategy) and strategy.name == name
    rng = np.random.default_rng(0)
    p = rng.uniform(size=60)
    emb = rng.normal(size=(60, 8))
    scores = strategy.score(as_proba(p))
    assert scores.shape == (60,) and np.all(np.isfinite(scores))
    # A coin toss is never scored below a confident prediction.
    sure_and_unsure = strategy.score(as_proba(np.array([0.99, 0.5])))
    assert sure_and_unsure[1] >= sure_and_unsure[0]
    exclude = np.zeros(60, dtype=bool)
    exclude[:10] = True
    chosen = select(name, p, 5, embeddings=emb, exclude=exclude, seed=0)
    assert len(chosen.indices) == 5 and len(set(chosen.indices.tolist())) == 5
    assert not exclude[chosen.indices].any()
    # Same inputs, same batch: reproducible.
    again = select(name, p, 5, embeddings=emb, exclude=exclude, seed=0)
    assert chosen.indices.tolist() == again.indices.tolist()
    if strategy.needs_embeddings:
        with pytest.raises(PatentlabError, match="needs embeddings"):
            select(name, p, 5)


def test_a_new_strategy_is_one_subclass_and_one_registration(monkeypatch):
    from patentlab.active import strategies

    monkeypatch.setattr(strategies, "REGISTRY", dict(strategies.REGISTRY))

    class MostGreen(strategies.ConfidenceStrategy):
        name = "most-green"

        def score(self, proba):
            return proba[:, 1]

    strategies.register(MostGreen())
    chosen = select("most-green", np.array([0.1, 0.9, 0.5]), 2)
    assert chosen.indices.tolist() == [1, 2]
    with pytest.raises(ValueError, match="new name"):
        strategies.register(MostGreen())
