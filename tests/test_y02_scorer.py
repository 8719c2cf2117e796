"""The zero-shot Y02-definition scorer on real claims and the real CPC titles (packaged MiniLM)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from patentlab.classify.y02_scorer import (
    FEATURE_NAMES,
    DefinitionAugmentedClassifier,
    Y02DefinitionScorer,
    best_kappa_threshold,
)
from patentlab.corpus.schema import Y02_CATEGORIES
from patentlab.cpc import entries_at, y02_entries
from patentlab.data import sample_path
from patentlab.errors import PatentlabError


@pytest.fixture(scope="module")
def scorer() -> Y02DefinitionScorer:
    return Y02DefinitionScorer()


@pytest.fixture(scope="module")
def gold() -> pd.DataFrame:
    return pd.read_csv(sample_path("hitl_gold_100.csv"))


def test_background_titles_leave_out_section_y():
    subclasses = entries_at("subclass")
    assert len(subclasses) == 663 and not any(e.code.startswith("Y") for e in subclasses)
    assert len(y02_entries()) == 340


def test_zero_shot_scorer_ranks_human_green_claims_above_the_rest(scorer, gold):
    """No label is used: the margin alone ranks the human-labelled gold claims better than chance."""
    p = scorer.predict_proba(gold["text"].tolist())[:, 1]
    assert p.shape == (100,) and np.all((p > 0) & (p < 1))
    auc = roc_auc_score(gold["is_green_human"].astype(int), p)
    assert auc > 0.5, auc


def test_nearest_definitions_are_real_y02_entries_nearest_first(scorer, gold):
    nearest = scorer.nearest_definitions(gold["text"].tolist()[:5], k=3)
    codes = {e.code for e in y02_entries()}
    assert len(nearest) == 5
    for defs in nearest:
        assert len(defs) == 3
        assert all(d.code.replace(" ", "") in codes and d.title for d in defs)
        assert [d.score for d in defs] == sorted((d.score for d in defs), reverse=True)
    with pytest.raises(PatentlabError):
        scorer.nearest_definitions(["a claim"], k=0)


def test_nearest_definition_names_the_claims_own_y02_subclass_more_often_than_chance(scorer):
    """On the CPC-labelled green claims, the nearest definition's subclass is one of the patent's."""
    frame = pd.read_csv(sample_path("y02_claims_1100.csv"))
    green = frame[frame["is_green"] == 1]
    nearest = scorer.nearest_definitions(green["text"].tolist(), k=1)
    hits = [d[0].code[:4] in {c for c in Y02_CATEGORIES if row[c] == 1} for d, (_, row) in
            zip(nearest, green.iterrows(), strict=True)]  # fmt: skip
    # Picking one of the 8 subclasses at random would be right about 1 time in 8.
    assert np.mean(hits) > 0.3, np.mean(hits)


def test_features_have_one_column_per_name(scorer, gold):
    feats = scorer.features(gold["text"].tolist()[:4])
    assert feats.shape == (4, len(FEATURE_NAMES))
    assert np.allclose(feats[:, 0], feats[:, 1] - feats[:, 2], atol=1e-5)


def test_bad_settings_are_one_line_errors(tmp_path):
    with pytest.raises(PatentlabError, match="background"):
        Y02DefinitionScorer(background="everything").load_encoder()
    with pytest.raises(PatentlabError, match="not a Y02 scorer folder"):
        Y02DefinitionScorer.from_pretrained(tmp_path)
    with pytest.raises(PatentlabError, match="single class"):
        Y02DefinitionScorer().fit_margin(np.array([0.1, 0.2]), [1, 1])


def test_best_kappa_threshold_separates_a_clean_split():
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    t = best_kappa_threshold(y, p)
    assert 0.3 < t <= 0.8


@pytest.mark.heavy
def test_fit_calibrates_saves_and_loads(scorer, tmp_path):
    """Calibrated on the CPC-labelled training claims; the threshold is chosen there, not on the gold."""
    frame = pd.read_csv(sample_path("y02_claims_1100.csv"))
    train = frame[frame["split"] == "train"]
    texts, labels = train["text"].tolist(), train["is_green"].tolist()
    fitted = Y02DefinitionScorer().fit(texts, labels, show_progress=False)
    assert 0.0 < fitted.threshold_ < 1.0 and fitted.calibration_[0] > 0  # more Y02-like, more green
    fitted.save_pretrained(tmp_path / "scorer")
    loaded = Y02DefinitionScorer.from_pretrained(tmp_path / "scorer")
    test = frame[frame["split"] == "test"]["text"].tolist()[:10]
    assert np.allclose(loaded.predict_proba(test), fitted.predict_proba(test))
    assert loaded.threshold_ == fitted.threshold_
    pred = loaded.predict(test)
    assert set(pred) <= {0, 1}

    # Class-balanced calibration: the decision point is p_green 0.5, and it is saved with the rest.
    balanced = Y02DefinitionScorer(class_weight="balanced").fit(texts, labels, show_progress=False)
    assert balanced.threshold_ == 0.5
    balanced.save_pretrained(tmp_path / "balanced")
    again_balanced = Y02DefinitionScorer.from_pretrained(tmp_path / "balanced")
    assert again_balanced.class_weight == "balanced"
    assert np.allclose(again_balanced.predict_proba(test), balanced.predict_proba(test))
    # The balanced calibration calls more of the scarce green class green than the prior-tuned one.
    assert balanced.predict_proba(test)[:, 1].mean() > fitted.predict_proba(test)[:, 1].mean()

    augmented = DefinitionAugmentedClassifier().fit(texts, labels)
    augmented.save_pretrained(tmp_path / "augmented")
    again = DefinitionAugmentedClassifier.from_pretrained(tmp_path / "augmented")
    assert np.allclose(again.predict_proba(test), augmented.predict_proba(test))


def test_definition_prior_adds_the_two_experts_log_odds(gold, tmp_path):
    """Baseline and scorer, each calibrated class-balanced, summed in log-odds; saved and loaded."""
    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.evaluate import load_classifier
    from patentlab.classify.prior import DefinitionPriorClassifier

    frame = pd.read_csv(sample_path("y02_claims_1100.csv"))
    train = frame[frame["split"] == "train"]
    prior = DefinitionPriorClassifier(FrozenEncoderClassifier("minilm", class_weight="balanced", C=0.1)).fit(
        train["text"].tolist(), train["is_green"].tolist(), show_progress=False
    )
    texts = gold["text"].tolist()
    p = prior.predict_proba(texts)[:, 1]
    p_base = prior.baseline_.predict_proba(texts, show_progress=False)[:, 1]
    p_defs = prior.scorer_.predict_proba(texts)[:, 1]
    odds = p_base / (1 - p_base) * p_defs / (1 - p_defs)
    assert np.allclose(p, odds / (1 + odds), atol=1e-5)
    assert roc_auc_score(gold["is_green_human"], p) > 0.5  # better than chance on human labels
    prior.save_pretrained(tmp_path / "prior")
    loaded = load_classifier(tmp_path / "prior")
    assert isinstance(loaded, DefinitionPriorClassifier)
    assert np.allclose(loaded.predict_proba(texts[:10]), prior.predict_proba(texts[:10]))


def test_definition_prior_with_the_lexical_expert_adds_its_log_odds(gold, tmp_path):
    """The TF-IDF expert's calibrated log-odds join the sum; prior.json names the three experts."""
    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.evaluate import load_classifier
    from patentlab.classify.lexical import TfidfClassifier
    from patentlab.classify.prior import PRIOR_FILE, DefinitionPriorClassifier

    frame = pd.read_csv(sample_path("y02_claims_1100.csv"))
    train = frame[frame["split"] == "train"]
    prior = DefinitionPriorClassifier(
        FrozenEncoderClassifier("minilm", class_weight="balanced", C=0.1), lexical=TfidfClassifier()
    ).fit(train["text"].tolist(), train["is_green"].tolist(), show_progress=False)
    texts = gold["text"].tolist()
    two = DefinitionPriorClassifier(prior.baseline_, prior.scorer_)
    two.classes_ = prior.classes_
    log_odds = np.log(two.predict_proba(texts)[:, 1] / two.predict_proba(texts)[:, 0])
    expected = 1 / (1 + np.exp(-(log_odds + prior.lexical.decision_function(texts))))
    assert np.allclose(prior.predict_proba(texts)[:, 1], expected, atol=1e-5)
    assert roc_auc_score(gold["is_green_human"], expected) > 0.5
    prior.save_pretrained(tmp_path / "prior")
    assert '"lexical"' in (tmp_path / "prior" / PRIOR_FILE).read_text()
    loaded = load_classifier(tmp_path / "prior")
    assert loaded.experts == ["baseline", "y02_scorer", "lexical"]
    assert np.allclose(loaded.predict_proba(texts[:10]), prior.predict_proba(texts[:10]), atol=1e-6)
