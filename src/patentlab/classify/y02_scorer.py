"""The Y02 definitions as knowledge: a zero-shot green score, and the definitions nearest a claim.

A claim is embedded with the frozen sentence encoder (the packaged MiniLM by default) next to the
official titles of the 340 Y02 entries (each with its parents' titles, ``path_title``) and,
optionally, next to a background of non-Y02 CPC titles (every subclass outside section Y, or every
main group too). The zero-shot score is how close the claim sits to the Y02 definitions, against
the rest of the scheme when a background is chosen::

    margin = mean of the top-k cosines to Y02 entries [- mean of the top-k cosines to the background]

The default (no background, top-1) is what the CPC-labelled training claims chose: subtracting the
background lowered the training AUC (0.77 -> 0.71), because green claims sit closer to CPC titles
in general too (BENCHMARKS.md, "Y02-definition scorer").

No label is needed for that. ``fit`` optionally calibrates the margin into a probability (a 1-D
logistic regression) and picks the decision threshold that maximises Cohen's kappa on the
training labels. :func:`definition_features` and :class:`DefinitionAugmentedClassifier` add the
scores to the frozen baseline's embeddings as extra features.

Example:
    >>> scorer = Y02DefinitionScorer()
    >>> scorer.predict_proba(["1. A photovoltaic module comprising …"])[:, 1]
    >>> scorer.nearest_definitions(["1. A photovoltaic module comprising …"], k=3)[0][0].code
    'Y02E 10/50'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from patentlab.classify.family import Prediction
from patentlab.classify.frozen import FrozenEncoderMixin
from patentlab.corpus.schema import Y02_CATEGORIES
from patentlab.embed.encoder import unit_rows
from patentlab.errors import PatentlabError
from patentlab.storage import atomic_dir, write_json

if TYPE_CHECKING:
    from patentlab.cpc import CpcEntry

SCORER_FILE = "y02_scorer.json"
AUGMENTED_FILE = "y02_augmented.json"
AUGMENTED_WEIGHTS = "y02_augmented.npz"
BACKGROUNDS = ("none", "subclasses", "groups")
#: Names of the columns :func:`definition_features` returns, in order (14).
FEATURE_NAMES: tuple[str, ...] = (
    "margin",
    "y02_top",
    "background_top",
    *(f"{c}_top" for c in Y02_CATEGORIES),
)
# Without calibration, margins (cosine differences of a few hundredths) are spread by this factor
# before the logistic function: a monotone map, so AUC is the same; only fit() calibrates.
_UNCALIBRATED_SCALE = 20.0


@dataclass(frozen=True)
class Definition:
    """One Y02 entry near a text: its code (``"Y02E 10/50"``), its title path as words, the cosine."""

    code: str
    title: str
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


def _spaced(code: str) -> str:
    """``"Y02E10/50"`` -> ``"Y02E 10/50"`` (the scheme's printed form)."""
    return f"{code[:4]} {code[4:]}" if "/" in code else code


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    k = max(1, min(k, sims.shape[1]))
    return np.sort(sims, axis=1)[:, -k:].mean(axis=1)


class Y02DefinitionScorer(FrozenEncoderMixin, ClassifierMixin, BaseEstimator):
    """Zero-shot green score: similarity to the Y02 definitions against other CPC titles.

    Args:
        model: the sentence encoder (``minilm``, ``mpnet``, a hub id or a local folder).
        background: ``none`` (the score is the similarity to the Y02 definitions alone; the
            default, chosen on the CPC-labelled training claims, see BENCHMARKS.md), ``subclasses``
            (minus the similarity to the 663 subclass titles outside section Y) or ``groups``
            (those plus the ~9,700 main-group titles outside section Y).
        top_k: cosines averaged on each side of the margin.
        max_length: tokens per text; the baseline's 384 by default, so the claims' embeddings
            come from the same on-disk cache as the frozen baseline's.
        batch_size: texts per forward pass of the encoder.
        cache: keep embeddings in the on-disk cache.
        class_weight: how ``fit`` calibrates. ``None``: on the training labels as they come, then
            the threshold with the best kappa there. ``"balanced"``: the classes weighted equally,
            so p_green 0.5 is the decision point of a 50/50 world; this suits test claims far
            greener than the training data (the human gold claims are 38% green, the labelled
            training data 2%), where a threshold tuned to the training prior calls almost
            nothing green.
    """

    def __init__(
        self,
        model: str = "minilm",
        *,
        background: str = "none",
        top_k: int = 1,
        max_length: int = 384,
        batch_size: int = 32,
        cache: bool = True,
        class_weight: str | None = None,
    ) -> None:
        self.model = model
        self.background = background
        self.top_k = top_k
        self.max_length = max_length
        self.batch_size = batch_size
        self.cache = cache
        self.class_weight = class_weight

    # -- the encoder and the definitions ---------------------------------------------------------

    def check_settings(self) -> None:
        if self.background not in BACKGROUNDS:
            choices = ", ".join(BACKGROUNDS)
            raise PatentlabError(f"background must be one of {choices}, not '{self.background}'")

    def _embed(self, texts: Sequence[str], description: str, show_progress: bool = False) -> np.ndarray:
        return unit_rows(
            self.load_encoder().encode(list(texts), show_progress=show_progress, description=description)
        )

    def definitions(self) -> tuple[tuple[CpcEntry, ...], np.ndarray]:
        """The Y02 entries and their unit embeddings (titles with their parents' titles)."""
        if getattr(self, "y02_vectors_", None) is None:
            from patentlab.cpc import y02_entries

            self.y02_entries_ = y02_entries()
            self.y02_vectors_ = self._embed([e.words for e in self.y02_entries_], "Y02 definitions")
        return self.y02_entries_, self.y02_vectors_

    def background_vectors(self) -> np.ndarray:
        """Unit embeddings of the non-Y02 CPC titles the margin compares against."""
        if getattr(self, "background_vectors_", None) is None:
            from patentlab.cpc import entries_at

            self.load_encoder()  # checks ``background`` first
            if self.background == "none":
                return np.zeros((0, self.encoder_.dim), dtype=np.float32)
            levels = ("subclass",) if self.background == "subclasses" else ("subclass", "group")
            words = [e.words for e in entries_at(*levels)]
            self.background_vectors_ = self._embed(words, "CPC titles", show_progress=len(words) > 1000)
        return self.background_vectors_

    # -- scores ---------------------------------------------------------------------------------

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Unit embeddings of ``texts`` (cached on disk unless ``cache=False``)."""
        return self._embed(texts, "Y02 scorer", show_progress)

    def features_from_embeddings(self, unit: np.ndarray) -> np.ndarray:
        """``(n, 14)``: margin, top Y02 and background cosines (0 with no background), top per subclass."""
        entries, y02 = self.definitions()
        sims = unit @ y02.T
        background = unit @ self.background_vectors().T
        y02_top = _top_mean(sims, self.top_k)
        bg_top = _top_mean(background, self.top_k) if background.shape[1] else np.zeros(len(unit), np.float32)
        columns = [y02_top - bg_top, y02_top, bg_top]
        subclass = np.array([e.code[:4] for e in entries])
        for category in Y02_CATEGORIES:
            columns.append(sims[:, subclass == category].max(axis=1))
        return np.column_stack(columns).astype(np.float32)

    def features(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """The definition features of ``texts`` (see :data:`FEATURE_NAMES`)."""
        return self.features_from_embeddings(self.embed(texts, show_progress))

    def margin(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """The zero-shot score: top-k Y02 cosine minus top-k background cosine."""
        return self.features(texts, show_progress)[:, 0]

    def _proba_from_margin(self, margin: np.ndarray) -> np.ndarray:
        if getattr(self, "calibration_", None) is not None:
            coef, intercept = self.calibration_
            z = coef * margin + intercept
        else:
            z = _UNCALIBRATED_SCALE * margin
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p, p])

    def predict_proba(self, X: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """``(n, 2)`` probabilities of Non-Green and Green (a monotone map of the margin)."""
        return self._proba_from_margin(self.margin(X, show_progress))

    def predict_with_embeddings(self, X: Sequence[str], *, show_progress: bool = False) -> Prediction:
        """The probabilities and the unit embeddings they came from."""
        unit = self.embed(X, show_progress)
        return Prediction(self._proba_from_margin(self.features_from_embeddings(unit)[:, 0]), unit)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """0/1 labels at ``threshold_`` (0.5 before ``fit``)."""
        return (self.predict_proba(X)[:, 1] >= getattr(self, "threshold_", 0.5)).astype(int)

    def fit(self, X: Sequence[str], y: Sequence[int], show_progress: bool = True):
        """Calibrate the margin on labelled texts and set the threshold (see ``class_weight``)."""
        return self.fit_margin(self.margin(X, show_progress), y)

    def fit_margin(self, margin: np.ndarray, y: Sequence[int]):
        """``fit`` on precomputed margins (cross-validation computes them once)."""
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) < 2:
            raise PatentlabError("the training labels hold a single class; need both 0 and 1")
        if self.class_weight not in (None, "balanced"):
            raise PatentlabError(f"class_weight must be None or 'balanced', not {self.class_weight!r}")
        lr = LogisticRegression(class_weight=self.class_weight, max_iter=1000)
        lr.fit(np.asarray(margin).reshape(-1, 1), y)
        self.calibration_ = (float(lr.coef_[0, 0]), float(lr.intercept_[0]))
        p = self._proba_from_margin(np.asarray(margin))[:, 1]
        self.threshold_ = 0.5 if self.class_weight == "balanced" else best_kappa_threshold(y, p)
        self.classes_ = np.array([0, 1])
        return self

    # -- nearest definitions --------------------------------------------------------------------

    def nearest_from_embeddings(self, unit: np.ndarray, k: int = 3) -> list[list[Definition]]:
        entries, y02 = self.definitions()
        sims = unit @ y02.T
        out = []
        for row in sims:
            top = np.argsort(-row, kind="stable")[:k]
            out.append(
                [Definition(_spaced(entries[i].code), entries[i].words, round(float(row[i]), 4)) for i in top]
            )
        return out

    def nearest_definitions(self, texts: Sequence[str], k: int = 3) -> list[list[Definition]]:
        """The ``k`` Y02 entries nearest each text (code, title words, cosine), nearest first."""
        if k < 1:
            raise PatentlabError(f"k must be at least 1, not {k}")
        return self.nearest_from_embeddings(self.embed(texts), k)

    # -- saving ---------------------------------------------------------------------------------

    def save_pretrained(self, path: str | Path) -> Path:
        """Write ``y02_scorer.json``: the settings and, after ``fit``, the calibration and threshold."""
        state = self.saved_params()
        if getattr(self, "calibration_", None) is not None:
            state.update(calibration=list(self.calibration_), threshold=self.threshold_)
        with atomic_dir(path) as staging:
            write_json(staging / SCORER_FILE, {"format": "patentlab-y02-scorer/1", **state})
        return Path(path)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> Y02DefinitionScorer:
        params = cls.read_params(path, SCORER_FILE, "Y02 scorer")
        calibration, threshold = params.pop("calibration", None), params.pop("threshold", None)
        scorer = cls(params.pop("model"), **params)
        if calibration is not None:
            scorer.calibration_, scorer.threshold_ = tuple(calibration), float(threshold)
            scorer.classes_ = np.array([0, 1])
        return scorer


def best_kappa_threshold(y: Sequence[int], p: Sequence[float]) -> float:
    """The probability threshold with the highest Cohen's kappa on ``(y, p)`` (training data only)."""
    from patentlab.classify.metrics import cohen_kappa

    y, p = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    candidates = np.unique(np.quantile(p, np.linspace(0.01, 0.99, 99)))
    best, best_kappa = 0.5, -np.inf
    for t in candidates:
        pred = (p >= t).astype(int)
        if pred.min() == pred.max():
            continue
        kappa = cohen_kappa(y, pred)
        if kappa is not None and kappa > best_kappa:
            best, best_kappa = float(t), kappa
    return best


def definition_features(texts: Sequence[str], scorer: Y02DefinitionScorer | None = None) -> np.ndarray:
    """Extra feature columns for any classifier (see :data:`FEATURE_NAMES`)."""
    return (scorer or Y02DefinitionScorer()).features(texts)


class DefinitionAugmentedClassifier(ClassifierMixin, BaseEstimator):
    """The frozen baseline with the Y02 definition features appended to its embeddings.

    Logistic regression over ``[embedding, weight * standardised definition features]``. The
    claim embeddings are the frozen baseline's (same encoder, same cache), so only the small
    feature block is new.

    Args:
        model: the sentence encoder.
        background: the scorer's non-Y02 background (``subclasses`` or ``groups``).
        feature_weight: scale of the standardised features next to the raw embedding.
        class_weight: ``None`` or ``"balanced"``.
        C: inverse regularisation strength.
    """

    def __init__(
        self,
        model: str = "minilm",
        *,
        background: str = "subclasses",
        feature_weight: float = 1.0,
        class_weight: str | None = "balanced",
        C: float = 1.0,
    ) -> None:
        self.model = model
        self.background = background
        self.feature_weight = feature_weight
        self.class_weight = class_weight
        self.C = C

    def scorer(self) -> Y02DefinitionScorer:
        if getattr(self, "scorer_", None) is None:
            self.scorer_ = Y02DefinitionScorer(self.model, background=self.background)
        return self.scorer_

    def design(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Raw embeddings and definition features, side by side (before standardising)."""
        encoder = self.scorer().load_encoder()
        raw = encoder.encode(list(texts), show_progress=show_progress, description="classify")
        return np.hstack([raw, self.scorer().features_from_embeddings(unit_rows(raw))])

    def _scaled(self, design: np.ndarray) -> np.ndarray:
        n = design.shape[1] - len(FEATURE_NAMES)
        feats = (design[:, n:] - self.mean_) / self.scale_
        return np.hstack([design[:, :n], self.feature_weight * feats])

    def fit(self, X: Sequence[str], y: Sequence[int], sample_weight=None, show_progress: bool = True):
        return self.fit_design(self.design(X, show_progress), y, sample_weight)

    def fit_design(self, design: np.ndarray, y: Sequence[int], sample_weight=None):
        """Fit on a precomputed :meth:`design` matrix."""
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) < 2:
            raise PatentlabError("the training labels hold a single class; need both 0 and 1")
        feats = design[:, -len(FEATURE_NAMES) :]
        self.mean_, self.scale_ = feats.mean(axis=0), np.clip(feats.std(axis=0), 1e-6, None)
        self.lr_ = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=3000)
        self.lr_.fit(self._scaled(design), y, sample_weight=sample_weight)
        self.classes_ = self.lr_.classes_
        return self

    def predict_proba_design(self, design: np.ndarray) -> np.ndarray:
        return self.lr_.predict_proba(self._scaled(design))

    def predict_proba(self, X: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """``(n, 2)`` probabilities of Non-Green and Green."""
        return self.predict_proba_design(self.design(X, show_progress))

    def predict_with_embeddings(self, X: Sequence[str], *, show_progress: bool = False) -> Prediction:
        """The probabilities and the raw embeddings (the design's first columns) they came from."""
        design = self.design(X, show_progress)
        return Prediction(self.predict_proba_design(design), design[:, : -len(FEATURE_NAMES)])

    def prepare_encoder(self, *, batch_size: int | None = None, cache: bool | None = None) -> None:
        """Load the scorer's encoder (the one this model reads texts with) now, with these settings."""
        self.scorer().prepare_encoder(batch_size=batch_size, cache=cache)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def save_pretrained(self, path: str | Path) -> Path:
        """Write the settings (JSON) and the regression and scaling (``.npz``, no pickle)."""
        with atomic_dir(path) as staging:
            write_json(staging / AUGMENTED_FILE, {"format": "patentlab-y02-augmented/1", **self.get_params()})
            np.savez(
                staging / AUGMENTED_WEIGHTS, coef=self.lr_.coef_, intercept=self.lr_.intercept_,
                classes=self.lr_.classes_, mean=self.mean_, scale=self.scale_,
            )  # fmt: skip
        return Path(path)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> DefinitionAugmentedClassifier:
        path = Path(path)
        params = FrozenEncoderMixin.read_params(path, AUGMENTED_FILE, "Y02-augmented classifier")
        clf = cls(params.pop("model"), **params)
        with np.load(path / AUGMENTED_WEIGHTS) as w:
            clf.lr_ = LogisticRegression(C=clf.C, class_weight=clf.class_weight)
            clf.lr_.coef_, clf.lr_.intercept_, clf.lr_.classes_ = w["coef"], w["intercept"], w["classes"]
            clf.mean_, clf.scale_ = w["mean"], w["scale"]
        clf.classes_ = clf.lr_.classes_
        return clf
