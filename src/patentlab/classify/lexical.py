"""A lexical expert: word and word-pair TF-IDF with a class-weighted, calibrated logistic regression.

The frozen sentence encoder compresses a claim into one 384-d vector and reads at most its first
384 tokens; a linear model over TF-IDF n-grams sees every word, so it catches the terms that
decide a Y02 code ("photovoltaic", "exhaust gas recirculation") wherever they sit in the text.
On its own it ranks claims about as well as the encoder; added to the encoder and the Y02
definitions (:class:`~patentlab.classify.prior.DefinitionPriorClassifier`), it lifts both the
cross-validated AUC over the labelled claims and the agreement with human labels
(BENCHMARKS.md, "Green-patent classifier").

An uncalibrated TF-IDF regression is far too sure of itself (its log-odds run to ±10 on claims
it has never seen), which would drown the other experts in a sum of log-odds. So ``fit`` chooses
``C`` by stratified cross-validation (ROC-AUC) on the training data and maps the out-of-fold
scores to a probability with a class-balanced 1-D logistic regression (Platt scaling): p = 0.5 is
the decision point of a 50/50 world, as for the other experts.

The saved form is ``lexical.json`` (settings, C, the calibration) and ``lexical.npz`` (terms,
IDF weights, coefficients): no pickle.

Example:
    >>> clf = TfidfClassifier().fit(texts, labels)
    >>> clf.predict_proba(["1. A photovoltaic module comprising …"])[:, 1]
    >>> clf.save_pretrained("runs/clf/lexical")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from patentlab.errors import PatentlabError
from patentlab.storage import atomic_dir, read_settings, write_json

LEXICAL_FILE = "lexical.json"
LEXICAL_WEIGHTS = "lexical.npz"
LEXICAL_FORMAT = "patentlab-tfidf/1"
#: The C candidates ``fit`` cross-validates when ``C`` is not given.
C_GRID = (0.1, 0.3, 1.0, 3.0)


class TfidfClassifier(ClassifierMixin, BaseEstimator):
    """TF-IDF over words and word pairs + class-weighted logistic regression, calibrated.

    Args:
        ngram_max: longest n-gram (1: words only; 2: words and pairs).
        min_df: a term must occur in this many training texts.
        max_features: the vocabulary keeps this many most frequent terms.
        C: inverse regularisation strength; ``None`` chooses it from :data:`C_GRID` by
            cross-validation on the training data.
        class_weight: ``"balanced"`` (green is ~2 % of the labelled data) or ``None``.
        folds: cross-validation folds for choosing C and for the calibration's out-of-fold scores.
        seed: the folds' shuffle.
    """

    def __init__(
        self,
        *,
        ngram_max: int = 2,
        min_df: int = 2,
        max_features: int = 200_000,
        C: float | None = None,
        class_weight: str | None = "balanced",
        folds: int = 5,
        seed: int = 0,
    ) -> None:
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.class_weight = class_weight
        self.folds = folds
        self.seed = seed

    def _regression(self, c: float) -> LogisticRegression:
        return LogisticRegression(C=c, class_weight=self.class_weight, max_iter=3000)

    def fit(self, X: Sequence[str], y: Sequence[int], show_progress: bool = False):
        """Fit the vocabulary, choose C, calibrate on out-of-fold scores, refit on everything.

        ``show_progress`` is accepted for the API of the other classifiers; fitting 12k texts
        takes about half a minute on 2 cores.
        """
        y = np.asarray(y, dtype=int)
        counts = np.bincount(y, minlength=2)
        if counts.min() < 2:
            raise PatentlabError("TF-IDF expert: need at least 2 examples of each class to calibrate")
        self.vectorizer_ = TfidfVectorizer(
            ngram_range=(1, self.ngram_max),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        features = self.vectorizer_.fit_transform(X)
        k = int(min(self.folds, counts.min()))
        splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=self.seed).split(features, y))
        self.cv_auc_ = {}
        out_of_fold: dict[float, np.ndarray] = {}
        for c in (self.C,) if self.C is not None else C_GRID:
            scores = np.zeros(len(y))
            for train_idx, test_idx in splits:
                lr = self._regression(c).fit(features[train_idx], y[train_idx])
                scores[test_idx] = lr.decision_function(features[test_idx])
            out_of_fold[c] = scores
            self.cv_auc_[float(c)] = float(np.mean([roc_auc_score(y[t], scores[t]) for _, t in splits]))
        self.C_ = max(self.cv_auc_, key=lambda c: (self.cv_auc_[c], -c))
        calibration = LogisticRegression(C=1e4, class_weight="balanced")
        calibration.fit(out_of_fold[self.C_][:, None], y)
        self.calibration_ = (float(calibration.coef_[0, 0]), float(calibration.intercept_[0]))
        self.lr_ = self._regression(self.C_).fit(features, y)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """The calibrated log-odds of green."""
        slope, intercept = self.calibration_
        return slope * self.lr_.decision_function(self.vectorizer_.transform(X)) + intercept

    def predict_proba(self, X: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """``(n, 2)`` probabilities of Non-Green and Green."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return (self.decision_function(X) >= 0.0).astype(int)

    def save_pretrained(self, path: str | Path) -> Path:
        """Write ``lexical.json`` and ``lexical.npz`` (terms, IDF, weights; no pickle)."""
        vocabulary = self.vectorizer_.vocabulary_
        terms = np.empty(len(vocabulary), dtype=object)
        for term, column in vocabulary.items():
            terms[column] = term
        with atomic_dir(path) as staging:
            write_json(
                staging / LEXICAL_FILE,
                {
                    "format": LEXICAL_FORMAT,
                    **self.get_params(),
                    "C_": self.C_,
                    "cv_auc": self.cv_auc_,
                    "calibration": list(self.calibration_),
                },
            )
            np.savez_compressed(
                staging / LEXICAL_WEIGHTS,
                terms=terms.astype(str),
                idf=self.vectorizer_.idf_,
                coef=self.lr_.coef_,
                intercept=self.lr_.intercept_,
            )
        return Path(path)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> TfidfClassifier:
        path = Path(path)
        params = read_settings(path, LEXICAL_FILE, LEXICAL_FORMAT, "TF-IDF expert")
        c_chosen, cv_auc, calibration = params.pop("C_"), params.pop("cv_auc"), params.pop("calibration")
        clf = cls(**params)
        with np.load(path / LEXICAL_WEIGHTS) as w:
            terms = w["terms"].tolist()
            clf.vectorizer_ = TfidfVectorizer(
                ngram_range=(1, clf.ngram_max),
                sublinear_tf=True,
                dtype=np.float32,
                vocabulary={term: i for i, term in enumerate(terms)},
            )
            clf.vectorizer_.idf_ = w["idf"]
            clf.lr_ = clf._regression(c_chosen)
            clf.lr_.coef_, clf.lr_.intercept_ = w["coef"], w["intercept"]
            clf.lr_.classes_ = np.array([0, 1])
        clf.C_, clf.cv_auc_ = c_chosen, {float(k): v for k, v in cv_auc.items()}
        clf.calibration_ = (float(calibration[0]), float(calibration[1]))
        clf.classes_ = np.array([0, 1])
        return clf
