"""The frozen baseline with the Y02 definitions as a prior: experts that add their log-odds.

The frozen-encoder logistic regression learns what the labelled claims say; the zero-shot
:class:`~patentlab.classify.y02_scorer.Y02DefinitionScorer` knows what the official Y02 titles
say; the optional :class:`~patentlab.classify.lexical.TfidfClassifier` sees every word of the
text, past the encoder's 384 tokens. Each is calibrated class-balanced on the same training data,
so each one's log-odds is evidence on a 50/50 footing, and the combination adds them (a product
of experts)::

    logit p_green = logit p_baseline + logit p_definitions [+ logit p_tfidf]

Nothing is fitted on top: a learned stacking weight, fitted where the labelled claims are,
trusts the definitions about 8 times more than the claims (what separates ordinary claims), and
that did worse on the hard human-labelled claims than the plain sum (docs/classify.md).

Example:
    >>> clf = DefinitionPriorClassifier(lexical=TfidfClassifier()).fit(texts, labels)
    >>> clf.predict_proba(["1. A photovoltaic module comprising …"])[:, 1]
    >>> clf.save_pretrained("runs/clf/prior")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from patentlab.classify.baseline import FrozenEncoderClassifier
from patentlab.classify.family import Prediction
from patentlab.classify.lexical import TfidfClassifier
from patentlab.classify.y02_scorer import Y02DefinitionScorer
from patentlab.embed.encoder import unit_rows
from patentlab.storage import atomic_dir, read_settings, write_json

PRIOR_FILE = "prior.json"
PRIOR_FORMAT = "patentlab-definition-prior/1"
LEXICAL_DIR = "lexical"
_EPS = 1e-7


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class DefinitionPriorClassifier(ClassifierMixin, BaseEstimator):
    """Frozen encoder + class-weighted LR, with the Y02-definition scorer's log-odds added.

    Args:
        baseline: a :class:`FrozenEncoderClassifier` (``class_weight="balanced"``), fitted or
            not; default: MiniLM, C=1.
        scorer: a :class:`Y02DefinitionScorer` (``class_weight="balanced"``), fitted or not;
            default: the zero-shot scorer on the baseline's encoder.
        lexical: an optional third expert, a :class:`TfidfClassifier`, fitted or not (``fit``
            fits it on the same texts).
        definitions: add the Y02-definition scorer's log-odds (``False``: the baseline and the
            lexical expert only, a candidate that grouped selection may keep).
    """

    def __init__(
        self,
        baseline: FrozenEncoderClassifier | None = None,
        scorer: Y02DefinitionScorer | None = None,
        lexical: TfidfClassifier | None = None,
        definitions: bool = True,
    ) -> None:
        self.baseline = baseline
        self.scorer = scorer
        self.lexical = lexical
        self.definitions = definitions

    def parts(self) -> tuple[FrozenEncoderClassifier, Y02DefinitionScorer]:
        """The baseline and the scorer this model uses (``baseline_``, ``scorer_``), set up on first
        call from the constructor's (or default) ones, on one shared encoder."""
        if getattr(self, "baseline_", None) is None:
            self.baseline_ = self.baseline or FrozenEncoderClassifier("minilm", class_weight="balanced")
            self.scorer_ = self.scorer or Y02DefinitionScorer(self.baseline_.model, class_weight="balanced")
            # One encoder for both, so a text is embedded (or read from the cache) once.
            self.scorer_.encoder_ = self.baseline_.load_encoder()
        return self.baseline_, self.scorer_

    @property
    def text_(self) -> dict | None:
        """The text the baseline was trained on (:func:`patentlab.classify.data.text_summary`)."""
        return getattr(self.parts()[0], "text_", None)

    @property
    def experts(self) -> list[str]:
        """The experts whose log-odds are added, in order."""
        experts = ["baseline"] + (["y02_scorer"] if self.definitions else [])
        return experts + (["lexical"] if self.lexical is not None else [])

    def fit(
        self,
        X: Sequence[str],
        y: Sequence[int],
        show_progress: bool = True,
        embeddings: np.ndarray | None = None,
    ):
        """Fit the baseline, calibrate the scorer and fit the lexical expert on the same texts.

        ``embeddings``: the baseline encoder's vectors of ``X`` when the caller already holds them.
        """
        baseline, scorer = self.parts()
        if embeddings is None:
            embeddings = baseline.embed(X, show_progress=show_progress)
        baseline.fit_embeddings(embeddings, y)
        if self.definitions:
            scorer.fit_margin(scorer.features_from_embeddings(unit_rows(embeddings))[:, 0], y)
        if self.lexical is not None:
            self.lexical.fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """``(n, 2)`` probabilities of Non-Green and Green."""
        return self.predict_with_embeddings(X, show_progress=show_progress).proba

    def predict_with_embeddings(self, X: Sequence[str], *, show_progress: bool = False) -> Prediction:
        """The probabilities and the baseline's embeddings they came from (the lexical expert
        reads the texts themselves)."""
        baseline, scorer = self.parts()
        embeddings = baseline.embed(X, show_progress=show_progress)
        p_base = baseline.lr_.predict_proba(embeddings)[:, 1]
        log_odds = _logit(p_base)
        if self.definitions:
            margin = scorer.features_from_embeddings(unit_rows(embeddings))[:, 0]
            log_odds = log_odds + _logit(scorer._proba_from_margin(margin)[:, 1])
        if self.lexical is not None:
            log_odds += self.lexical.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-log_odds))
        return Prediction(np.column_stack([1.0 - p, p]), embeddings)

    def prepare_encoder(self, *, batch_size: int | None = None, cache: bool | None = None) -> None:
        """Load the shared encoder now, with these run-time settings."""
        baseline, scorer = self.parts()
        baseline.prepare_encoder(batch_size=batch_size, cache=cache)
        scorer.encoder_ = baseline.encoder_  # still one encoder for both

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def save_pretrained(self, path: str | Path) -> Path:
        """Write ``prior.json`` and the experts in ``baseline/``, ``y02_scorer/`` [and ``lexical/``]."""
        baseline, scorer = self.parts()
        with atomic_dir(path) as staging:
            write_json(staging / PRIOR_FILE, {"format": PRIOR_FORMAT, "experts": self.experts})
            baseline.save_pretrained(staging / "baseline")
            if self.definitions:
                scorer.save_pretrained(staging / "y02_scorer")
            if self.lexical is not None:
                self.lexical.save_pretrained(staging / LEXICAL_DIR)
        return Path(path)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> DefinitionPriorClassifier:
        path = Path(path)
        header = read_settings(path, PRIOR_FILE, PRIOR_FORMAT, "definition-prior classifier")
        # A folder written before the lexical expert existed names no experts: the first two.
        experts = header.get("experts", ["baseline", "y02_scorer"])
        definitions = "y02_scorer" in experts
        clf = cls(
            FrozenEncoderClassifier.from_pretrained(path / "baseline"),
            Y02DefinitionScorer.from_pretrained(path / "y02_scorer") if definitions else None,
            TfidfClassifier.from_pretrained(path / LEXICAL_DIR) if LEXICAL_DIR in experts else None,
            definitions=definitions,
        )
        clf.parts()
        clf.classes_ = np.array([0, 1])
        return clf
