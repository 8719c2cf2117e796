"""Selection that cannot see the test: bootstrap intervals, grouped CV over sources, the protocol
end to end on real claims and abstracts with the real MiniLM (issue 23)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from patentlab.classify.intervals import auc, fmt_interval, kappa, paired_difference, with_intervals
from patentlab.classify.selection import CANDIDATES, combine, select, source_group
from patentlab.data import sample_path


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    """Real labelled claims: the CPC-labelled y02 claims (8 % green)."""
    return pd.read_csv(sample_path("y02_claims_1100.csv"))


def test_auc_and_kappa_match_sklearn(claims):
    rng = np.random.default_rng(0)
    y = claims["is_green"].to_numpy()
    # A real signal: the claim's length, plus ties (rounded) to exercise the tie ranks.
    p = np.round(claims["text"].str.len().to_numpy() / 1000, 1)
    assert auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    pred = rng.integers(0, 2, len(y))
    assert kappa(y, pred) == pytest.approx(cohen_kappa_score(y, pred), abs=1e-12)
    assert np.isnan(auc(np.zeros(5), np.arange(5)))


def test_intervals_hold_the_point_and_narrow_with_more_data(claims):
    y = claims["is_green"].to_numpy()
    p = np.where(y == 1, 0.7, 0.3) + np.random.default_rng(1).normal(0, 0.3, len(y))
    full = with_intervals(y, p, n_boot=300)
    small = with_intervals(y[:200], p[:200], n_boot=300)
    for m in (full, small):
        assert m["auc_ci"][0] <= m["auc"] <= m["auc_ci"][1]
        assert m["kappa_ci"][0] <= m["kappa"] <= m["kappa_ci"][1]
    assert full["auc_ci"][1] - full["auc_ci"][0] < small["auc_ci"][1] - small["auc_ci"][0]
    assert fmt_interval(0.3, [0.1, 0.5]) == "0.300 [0.10, 0.50]" and fmt_interval(None, None) == "n/a"


def test_paired_difference_separates_only_real_gaps(claims):
    y = claims["is_green"].to_numpy()
    noise = np.random.default_rng(2).normal(0, 1, len(y))
    good, bad = y + noise, noise
    assert paired_difference(y, good, bad, n_boot=300)["separated"]
    same = paired_difference(y, good, good + 1e-9 * noise, n_boot=300)
    assert not same["separated"] and abs(same["diff"]) < 1e-6


def test_source_groups_name_the_bundled_files():
    assert source_group("hub_layout:y02_claims_1100.csv") == "y02_claims"
    assert source_group("csv:uspto_abstracts_cpc_10k.csv.gz") == "abstracts"
    assert source_group("csv:cpc_group_claims_1411.csv") == "other_claims"
    assert source_group("jsonl:full_records_334.jsonl|x") == "other_claims"


def test_the_rule_keeps_the_simplest_candidate_the_bootstrap_cannot_separate(claims):
    y = claims["is_green"].to_numpy()
    groups = np.where(np.arange(len(y)) % 2 == 0, "y02_claims", "other_claims")
    rng = np.random.default_rng(3)
    signal = 2.0 * (y - 0.5)
    # lr is good; y02 adds nothing but noise of the same size as lr's own; tfidf is useless.
    oof = {"lr": signal + rng.normal(0, 1.2, len(y)), "y02": rng.normal(0, 0.05, len(y))}
    oof["tfidf"] = rng.normal(0, 1, len(y))
    result = select(oof, y, groups, n_boot=200)
    names = [r["candidate"] for r in result.rows]
    assert names == list(CANDIDATES)
    assert result.chosen == "lr"  # lr+y02 may edge it, but not by a separated margin
    tfidf = next(r for r in result.rows if r["candidate"] == "tfidf")
    assert tfidf["auc_diff_vs_best"]["separated"] and tfidf["auc"] < 0.6
    p = combine(oof, ("lr", "y02"))
    assert np.all((p > 0) & (p < 1))


@pytest.mark.heavy
def test_protocol_end_to_end_on_real_sources(tmp_path, monkeypatch):
    """Real claims from two files plus real abstracts, real MiniLM: the kept model reloads and
    predicts exactly the test figures the protocol reported."""
    from patentlab.classify.data import LabeledTexts, load_gold
    from patentlab.classify.evaluate import load_classifier
    from patentlab.classify.protocol import MODEL_CARD_JSON, SELECTION_JSON, EncoderSettings, run_protocol

    monkeypatch.setenv("PATENTLAB_CACHE", str(tmp_path / "cache"))
    y02 = pd.read_csv(sample_path("y02_claims_1100.csv"))
    y02 = pd.concat([y02[y02.is_green == 1].head(40), y02[y02.is_green == 0].head(80)])
    cpc = pd.read_csv(sample_path("cpc_group_claims_1411.csv"))
    cpc = pd.concat([cpc[cpc.is_green == 1], cpc[cpc.is_green == 0].head(60)])
    ab = pd.read_csv(sample_path("uspto_abstracts_cpc_10k.csv.gz")).dropna(subset=["is_green"])
    ab = pd.concat([ab[ab.is_green == 1].head(40), ab[ab.is_green == 0].head(80)])
    texts = y02.text.tolist() + cpc.text.tolist() + ab.abstract.tolist()
    labels = np.concatenate([y02.is_green, cpc.is_green, ab.is_green]).astype(int)
    groups = np.array(["y02_claims"] * len(y02) + ["other_claims"] * len(cpc) + ["abstracts"] * len(ab))
    train = LabeledTexts(texts, labels, [str(i) for i in range(len(texts))], text="auto")
    gold = load_gold(sample_path("hitl_gold_100.csv"), weight=1.0)

    result = run_protocol(
        train, groups, gold, tmp_path / "run", encoder=EncoderSettings("minilm", 64, "fp32"), n_boot=100
    )
    saved = json.loads((tmp_path / "run" / SELECTION_JSON).read_text())
    assert saved["chosen"] in CANDIDATES and set(saved["test"]) == set(CANDIDATES)
    assert {r["candidate"] for r in saved["rows"]} == set(CANDIDATES)
    assert set(saved["groups"]) == {"y02_claims", "other_claims", "abstracts"}
    card = json.loads((result.selected_dir / MODEL_CARD_JSON).read_text())
    assert card["candidate"] == saved["chosen"] and card["test"]["n"] == 100
    assert card["test"]["auc_ci"][0] <= card["test"]["auc"] <= card["test"]["auc_ci"][1]
    model = load_classifier(result.selected_dir)
    reloaded = with_intervals(gold.labels, model.predict_proba(gold.texts)[:, 1], n_boot=0)
    assert reloaded["auc"] == pytest.approx(card["test"]["auc"], abs=0.01)
    assert (tmp_path / "run" / "baseline" / "baseline.json").exists()


@pytest.mark.heavy
def test_prior_without_definitions_saves_and_reloads(tmp_path, claims):
    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.evaluate import describe, load_classifier
    from patentlab.classify.lexical import TfidfClassifier
    from patentlab.classify.prior import DefinitionPriorClassifier

    train = pd.concat([claims[claims.is_green == 1].head(30), claims[claims.is_green == 0].head(60)])
    base = FrozenEncoderClassifier("minilm", max_length=64, class_weight="balanced", cache=False)
    clf = DefinitionPriorClassifier(base, lexical=TfidfClassifier(C=1.0), definitions=False)
    clf.fit(train.text.tolist(), train.is_green.to_numpy(), show_progress=False)
    clf.save_pretrained(tmp_path / "m")
    assert not (tmp_path / "m" / "y02_scorer").exists()
    again = load_classifier(tmp_path / "m")
    assert again.experts == ["baseline", "lexical"] and describe(again).endswith("LR + TF-IDF")
    texts = claims.text.tolist()[-5:]
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


@pytest.mark.heavy
def test_classify_select_cli_keeps_a_model_without_the_gold(tmp_path, monkeypatch, capsys):
    """``patentlab classify select`` on a real split of two claim files: the kept model is saved
    with its card, and the gold's figures come after the choice."""
    from patentlab.classify.protocol import MODEL_CARD_JSON, SELECTION_JSON
    from patentlab.cli import main

    monkeypatch.setenv("PATENTLAB_CACHE", str(tmp_path / "cache"))
    sources = [str(sample_path(n)) for n in ("y02_claims_1100.csv", "cpc_group_claims_1411.csv")]
    assert main(["corpus", "ingest", *sources, "-o", str(tmp_path / "corpus"), "--on-duplicate", "skip"]) == 0
    assert (
        main(["corpus", "split", str(tmp_path / "corpus"), "-o", str(tmp_path / "s"), "--balance", "weight"])
        == 0
    )
    capsys.readouterr()
    gold = str(sample_path("hitl_gold_100.csv"))
    rc = main([
        "classify", "select", "--train", str(tmp_path / "s" / "train_silver.parquet"), "--gold", gold,
        "--out", str(tmp_path / "run"), "--max-length", "64", "--n-boot", "50",
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    saved = json.loads((tmp_path / "run" / SELECTION_JSON).read_text())
    assert set(saved["groups"]) == {"y02_claims", "other_claims"}
    card = json.loads((tmp_path / "run" / "selected" / MODEL_CARD_JSON).read_text())
    assert card["candidate"] == saved["chosen"] and card["test"]["n"] == 100
    assert out.index("Selection") < out.index("Test: hitl_gold_100")
