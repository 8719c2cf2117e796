"""The card's iteration-1 baseline: frozen encoder embeddings + logistic regression."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from patentlab.classify.family import Prediction
from patentlab.classify.frozen import FrozenEncoderMixin
from patentlab.embed.encoder import DEFAULT_MAX_LENGTH
from patentlab.errors import PatentlabError
from patentlab.storage import atomic_dir, write_json

BASELINE_FILE = "baseline.json"
WEIGHTS_FILE = "logistic_regression.npz"


class FrozenEncoderClassifier(FrozenEncoderMixin, ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier over frozen, mean-pooled sentence embeddings.

    Args:
        model: ``minilm``, ``mpnet``, a hub id or a local encoder folder.
        max_length: tokens per claim (the card's 384).
        dtype: ``fp32`` or ``bf16`` for the encoder.
        chunk: pool over windows of long claims instead of truncating them.
        class_weight: ``None`` or ``"balanced"`` (for skewed training sets: ``--balance weight``
            keeps every labelled record and lets the loss weight the classes instead).
        C: inverse regularisation strength of the logistic regression.
        batch_size: texts per forward pass of the encoder.
        cache: keep embeddings in the on-disk cache (not saved with the model: it changes no
            prediction, only whether vectors are reused and written).

    Embeddings go through the on-disk cache by default, so refitting with other ``C`` or
    ``class_weight`` re-encodes nothing.

    Example:
        >>> clf = FrozenEncoderClassifier("minilm").fit(texts, labels)
        >>> clf.predict_proba(["A wind turbine blade …"])[:, 1]
    """

    def __init__(
        self,
        model: str = "minilm",
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        dtype: str = "fp32",
        chunk: bool = False,
        class_weight: str | None = None,
        C: float = 1.0,
        batch_size: int = 32,
        cache: bool = True,
    ) -> None:
        self.model = model
        self.max_length = max_length
        self.dtype = dtype
        self.chunk = chunk
        self.class_weight = class_weight
        self.C = C
        self.batch_size = batch_size
        self.cache = cache

    encoder_fields = ("max_length", "dtype", "chunk", "batch_size", "cache")

    def embed(self, texts: Sequence[str], show_progress: bool = True) -> np.ndarray:
        """The frozen embeddings of ``texts`` (cached on disk unless ``cache=False``)."""
        return self.load_encoder().encode(texts, show_progress=show_progress)

    def fit(self, X: Sequence[str], y: Sequence[int], sample_weight: Sequence[float] | None = None):
        """Embed the claims ``X`` and fit the logistic regression on labels ``y``."""
        if self.class_weight not in (None, "balanced"):
            raise PatentlabError(f"class_weight must be None or 'balanced', not {self.class_weight!r}")
        return self.fit_embeddings(self.embed(X), y, sample_weight)

    def fit_embeddings(self, embeddings: np.ndarray, y: Sequence[int], sample_weight=None):
        """Fit on precomputed embeddings (used by cross-validation, which embeds once)."""
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) < 2:
            raise PatentlabError("the training labels hold a single class; need both 0 and 1")
        self.lr_ = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
        self.lr_.fit(embeddings, y, sample_weight=sample_weight)
        self.classes_ = self.lr_.classes_
        return self

    def predict_proba(self, X: Sequence[str], show_progress: bool = True) -> np.ndarray:
        """``(n, 2)`` probabilities of Non-Green and Green."""
        return self.lr_.predict_proba(self.embed(X, show_progress=show_progress))

    def predict_with_embeddings(self, X: Sequence[str], *, show_progress: bool = False) -> Prediction:
        """The probabilities and the frozen embeddings they came from."""
        embeddings = self.embed(X, show_progress=show_progress)
        return Prediction(self.lr_.predict_proba(embeddings), embeddings)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def save_pretrained(self, path: str | Path) -> Path:
        """Write ``baseline.json`` (settings) and the regression's weights (no pickle)."""
        params = self.saved_params()
        text = getattr(self, "text_", None)  # what it was trained on (classify.data.text_summary)
        with atomic_dir(path) as staging:
            write_json(staging / BASELINE_FILE, {"format": "patentlab-baseline/1", **params, "text": text})
            np.savez(
                staging / WEIGHTS_FILE,
                coef=self.lr_.coef_,
                intercept=self.lr_.intercept_,
                classes=self.lr_.classes_,
            )
        return Path(path)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> FrozenEncoderClassifier:
        path = Path(path)
        params = cls.read_params(path, BASELINE_FILE, "baseline")
        text = params.pop("text", None)
        clf = cls(params.pop("model"), **params)
        clf.text_ = text
        with np.load(path / WEIGHTS_FILE) as w:
            clf.lr_ = LogisticRegression(C=clf.C, class_weight=clf.class_weight)
            clf.lr_.coef_, clf.lr_.intercept_, clf.lr_.classes_ = w["coef"], w["intercept"], w["classes"]
        clf.classes_ = clf.lr_.classes_
        return clf


def choose_c(
    embeddings: np.ndarray,
    y: Sequence[int],
    *,
    grid: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
    class_weight: str | None = "balanced",
    folds: int = 5,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The ``C`` with the best mean ROC-AUC in stratified k-fold CV on the training data only.

    Choosing C on the training set (never on the test set, such as the human gold labels) keeps
    the reported test figures honest. Returns the chosen C and the mean AUC of each candidate.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=int)
    k = int(min(folds, np.bincount(y, minlength=2).min()))
    if k < 2:
        raise PatentlabError("too few examples of one class to choose C by cross-validation")
    scores: dict[float, float] = {}
    splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(embeddings, y))
    for c in grid:
        aucs = []
        for train_idx, test_idx in splits:
            lr = LogisticRegression(C=c, class_weight=class_weight, max_iter=2000)
            lr.fit(embeddings[train_idx], y[train_idx])
            aucs.append(roc_auc_score(y[test_idx], lr.predict_proba(embeddings[test_idx])[:, 1]))
        scores[float(c)] = float(np.mean(aucs))
    best = max(scores, key=lambda c: (scores[c], -c))
    return best, scores
