"""The TF-IDF expert on real labelled claims: calibrated, saved without pickle, loaded back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from patentlab.classify.lexical import LEXICAL_FILE, LEXICAL_WEIGHTS, TfidfClassifier
from patentlab.data import sample_path
from patentlab.errors import PatentlabError


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    return pd.read_csv(sample_path("y02_claims_1100.csv"))


@pytest.fixture(scope="module")
def fitted(claims) -> TfidfClassifier:
    train = claims[claims["split"] == "train"]
    return TfidfClassifier().fit(train["text"].tolist(), train["is_green"].tolist())


def test_c_is_chosen_by_cross_validation_and_the_scores_are_calibrated(fitted, claims):
    assert set(fitted.cv_auc_) == {0.1, 0.3, 1.0, 3.0}
    assert max(fitted.cv_auc_, key=fitted.cv_auc_.get) == fitted.C_
    assert fitted.cv_auc_[fitted.C_] > 0.65  # out-of-fold on 1,000 real claims (85 green)
    test = claims[claims["split"] != "train"]
    p = fitted.predict_proba(test["text"].tolist())[:, 1]
    # Platt scaling on out-of-fold scores tames the raw regression's ±10 log-odds.
    assert np.abs(fitted.decision_function(test["text"].tolist())).max() < 8
    assert np.array_equal(fitted.predict(test["text"].tolist()), (p >= 0.5).astype(int))


def test_round_trip_without_pickle(fitted, claims, tmp_path):
    fitted.save_pretrained(tmp_path / "lexical")
    header = json.loads((tmp_path / "lexical" / LEXICAL_FILE).read_text())
    assert header["C_"] == fitted.C_ and len(header["calibration"]) == 2
    with np.load(tmp_path / "lexical" / LEXICAL_WEIGHTS) as w:  # allow_pickle is off by default
        assert w["terms"].dtype.kind == "U" and len(w["terms"]) == len(w["idf"])
    loaded = TfidfClassifier.from_pretrained(tmp_path / "lexical")
    texts = claims["text"].tolist()[:50]
    assert np.allclose(loaded.predict_proba(texts), fitted.predict_proba(texts), atol=1e-6)


def test_one_class_and_foreign_folders_are_refused(tmp_path):
    with pytest.raises(PatentlabError, match="each class"):
        TfidfClassifier().fit(["a solar cell", "a wind turbine", "a gear"], [1, 0, 0])
    with pytest.raises(PatentlabError, match=r"no lexical\.json"):
        TfidfClassifier.from_pretrained(tmp_path)
    (tmp_path / LEXICAL_FILE).write_text('{"format": "something-else"}')
    with pytest.raises(PatentlabError, match=r"not a patentlab-tfidf/1 file"):
        TfidfClassifier.from_pretrained(tmp_path)
