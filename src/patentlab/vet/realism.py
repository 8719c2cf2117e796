"""Realism: can a classifier tell the generator's inventions from real patents?

Passing every check says an invention is well formed, not that it reads like a patent. The
realism score trains a classifier on real patents (the generator's training data) against the
generator's own samples, with out-of-fold predictions held out by record (no record and no
generation is ever in both the training and the test fold), and reports the share of accepted
inventions it cannot tell from real ones: out-of-fold ``P(real) >= 0.5``. A share near 0 means
every accepted invention is recognisably machine-written; a classifier AUC near 0.5 means the
classifier found nothing to tell them apart by.

The classifier is TF-IDF over word 1–2-grams and character 2–5-grams with a class-balanced
logistic regression: fast on a CPU, no encoder, and it sees the surface features (loops, odd
punctuation, made-up words) that give a small model away. Both sides are cut to the same
length (the generations' median), so length alone does not give generations away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

#: P(real) at or above which an invention counts as indistinguishable from real patents.
REAL_THRESHOLD = 0.5
#: The share of held-out real patents the realism gate lets through.
REAL_PASS_TARGET = 0.9
#: Fewest generations (and real records) for a realism figure worth reporting.
MIN_GENERATIONS = 8
#: Batches of real texts scored in the generations' place (:func:`realism_control`).
CONTROL_DRAWS = 5


class RealismClassifier(ClassifierMixin, BaseEstimator):
    """Hashed word and character n-grams, TF-IDF and logistic regression; label 1 = real patent.

    The n-grams are hashed (no vocabulary to fit), so :meth:`featurize` is stateless: the
    out-of-fold loop turns every text into features once, and each fold fits only the IDF
    weights and the regression on its own training rows.

    Args:
        C: inverse regularisation strength of the logistic regression (weak regularisation:
            the classifier should be sure when the two sides differ).
        n_features: hash buckets of each of the two n-gram families.
        class_weight: passed to the logistic regression (``"balanced"`` by default).

    Example:
        >>> clf = RealismClassifier().fit(real + generated, [1] * len(real) + [0] * len(generated))
        >>> clf.predict_proba(["# Patent …"])[:, 1]       # P(real)
    """

    def __init__(self, C: float = 100.0, n_features: int = 1 << 18, class_weight: str | None = "balanced"):
        self.C = C
        self.n_features = n_features
        self.class_weight = class_weight

    def featurize(self, texts: Sequence[str]) -> Any:
        """Sparse n-gram counts: word 1–2-grams next to character 2–5-grams (within words)."""
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import HashingVectorizer

        def hashed(**kwargs: Any) -> Any:
            vec = HashingVectorizer(n_features=self.n_features, alternate_sign=False, norm=None, **kwargs)
            return vec.transform(list(texts))

        return sp.hstack(
            [hashed(ngram_range=(1, 2)), hashed(analyzer="char_wb", ngram_range=(2, 5))], format="csr"
        )

    def _blocks(self, features: Any) -> list[Any]:
        features = features.tocsr()
        return [features[:, : self.n_features], features[:, self.n_features :]]

    def fit_features(self, features: Any, labels: Sequence[int]) -> RealismClassifier:
        """Fit on :meth:`featurize` output."""
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import LogisticRegression

        # Words and characters get their own TF-IDF and unit norm, so the far more numerous
        # character n-grams do not drown out word order. Only the hash buckets the training rows
        # use are kept: the solver's cost grows with the columns.
        self.columns_, self.tfidf_ = [], []
        for block in self._blocks(features):
            cols = np.unique(block.indices)
            self.columns_.append(cols)
            self.tfidf_.append(TfidfTransformer(sublinear_tf=True).fit(block[:, cols]))
        # The dual solver: far fewer rows than columns, where it is ~50x faster than the primal.
        self.lr_ = LogisticRegression(C=self.C, class_weight=self.class_weight, solver="liblinear", dual=True)
        self.lr_.fit(self._transform(features), np.asarray(labels))
        self.classes_ = self.lr_.classes_
        return self

    def _transform(self, features: Any) -> Any:
        import scipy.sparse as sp

        blocks = self._blocks(features)
        return sp.hstack(
            [t.transform(b[:, c]) for t, b, c in zip(self.tfidf_, blocks, self.columns_, strict=True)],
            format="csr",
        )

    def proba_from_features(self, features: Any) -> np.ndarray:
        """``(n, 2)`` probabilities of :meth:`featurize` output; column 1 is P(real)."""
        return self.lr_.predict_proba(self._transform(features))

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> RealismClassifier:
        return self.fit_features(self.featurize(texts), labels)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, 2)`` probabilities: column 1 is P(real)."""
        return self.proba_from_features(self.featurize(texts))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(texts), axis=1)]


@dataclass
class RealismResult:
    """What the realism classifier found, as written to ``summary.json`` (``realism``).

    Attributes:
        computed: False when there were too few generations or real records (``reason`` says).
        share_accepted: share of accepted inventions with out-of-fold P(real) ≥ 0.5 (None when
            nothing was accepted).
        share_generated: the same over every generation.
        auc: ROC AUC of the out-of-fold P(real), real against generated (1.0: always told apart).
        p_real: each generation's out-of-fold P(real), in input order.
    """

    computed: bool
    reason: str = ""
    share_accepted: float | None = None
    n_accepted: int = 0
    share_generated: float | None = None
    n_generated: int = 0
    n_real: int = 0
    auc: float | None = None
    folds: int = 0
    max_chars: int = 0
    threshold: float = REAL_THRESHOLD
    #: The realism gate: the P(real) that ``real_pass_share`` (>= 90%) of the held-out real
    #: patents reach out of fold (at most ``threshold``); an invention below it fails.
    gate: float | None = None
    real_pass_share: float | None = None
    classifier: str = "hashed word 1-2 + char 2-5 grams, tf-idf, logistic regression, balanced bags"
    #: What a writer indistinguishable from real patents scores: :func:`realism_control`.
    control: dict[str, Any] | None = None
    p_real: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def realism_folds(
    labels: Sequence[int], groups: Sequence[str], *, n_splits: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index arrays, stratified by label, that never split a group.

    At most ``n_splits`` folds and at most as many as the smaller class has groups.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    labels_arr, groups_arr = np.asarray(labels), np.asarray(groups)
    per_class = [len(set(groups_arr[labels_arr == c])) for c in (0, 1)]
    folds = int(min(n_splits, *per_class))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels_arr)), labels_arr, groups_arr))


def out_of_fold_p_real(
    texts: Sequence[str],
    labels: Sequence[int],
    groups: Sequence[str],
    *,
    n_splits: int = 5,
    bags: int = 5,
    seed: int = 0,
    estimator: Any = None,
) -> tuple[np.ndarray, int]:
    """Out-of-fold P(real) of every text (label 1 = real), from :func:`realism_folds`.

    Each fold trains ``bags`` classifiers, each on all of the fold's generated texts and as many
    real texts drawn at random, and averages them. Balancing by sampling rather than by class
    weights matters: a few heavily weighted generations get memorised by their own rare n-grams,
    and an unseen generation then looks like the majority class, real, whatever it reads like.

    Returns the probabilities and the number of folds used.
    """
    from sklearn.base import clone

    labels_arr = np.asarray(labels)
    folds = realism_folds(labels, groups, n_splits=n_splits, seed=seed)
    rng = np.random.default_rng(seed)
    p_real = np.zeros(len(texts), dtype=np.float64)
    base = estimator if estimator is not None else RealismClassifier()
    features = base.featurize(texts)  # stateless hashing: once for every fold and bag
    for train, test in folds:
        fake, real = train[labels_arr[train] == 0], train[labels_arr[train] == 1]
        for _ in range(bags):
            drawn = rng.choice(real, size=min(len(real), max(len(fake), 1)), replace=False)
            idx = np.concatenate([fake, drawn])
            model = clone(base).fit_features(features[idx], labels_arr[idx])
            real_col = list(model.classes_).index(1)
            p_real[test] += model.proba_from_features(features[test])[:, real_col] / bags
    return p_real, len(folds)


def realism_share(
    generated: Sequence[str],
    real: Sequence[str],
    accepted: Sequence[bool] | None = None,
    *,
    real_groups: Sequence[str] | None = None,
    n_splits: int = 5,
    seed: int = 0,
    min_generations: int = MIN_GENERATIONS,
    max_real: int | None = 400,
    max_chars: int | None = None,
    estimator: RealismClassifier | None = None,
) -> RealismResult:
    """Train real-vs-generated out of fold and report the share of accepted inventions that pass as real.

    Args:
        generated: the generations' texts (title, abstract, claims), in batch order.
        real: real patents' texts in the same layout (the generator's training documents).
        accepted: which generations passed vetting (default: all).
        real_groups: the record each real text belongs to (default: one record per text);
            texts of one record never straddle a fold.
        max_real: use at most this many real texts (a seeded sample), to bound the cost.
        max_chars: cut both sides to this many characters (default: the generations' median).
    """
    accepted = list(accepted) if accepted is not None else [True] * len(generated)
    gen_idx = [i for i, t in enumerate(generated) if t and t.strip()]
    real_idx = [i for i, t in enumerate(real) if t and t.strip()]
    if len(gen_idx) < min_generations or len(real_idx) < min_generations:
        return RealismResult(
            computed=False,
            reason=f"needs {min_generations}+ generations and real records, "
            f"has {len(gen_idx)} and {len(real_idx)}",
            n_generated=len(gen_idx),
            n_real=len(real_idx),
        )
    rng = np.random.default_rng(seed)
    if max_real is not None and len(real_idx) > max_real:
        real_idx = sorted(rng.choice(real_idx, size=max_real, replace=False).tolist())
    groups_of_real = list(real_groups) if real_groups is not None else [f"real-{i}" for i in range(len(real))]
    # Both sides cut to the generations' median length: what is compared is how they read.
    if max_chars is None:
        max_chars = max(200, int(np.median([len(generated[i]) for i in gen_idx])))
    texts = [generated[i][:max_chars] for i in gen_idx] + [real[i][:max_chars] for i in real_idx]
    labels = [0] * len(gen_idx) + [1] * len(real_idx)
    groups = [f"gen-{i}" for i in gen_idx] + [f"real:{groups_of_real[i]}" for i in real_idx]
    p_real, folds = out_of_fold_p_real(
        texts, labels, groups, n_splits=n_splits, seed=seed, estimator=estimator
    )
    from sklearn.metrics import roc_auc_score

    p_gen = dict(zip(gen_idx, p_real[: len(gen_idx)], strict=True))
    # Calibrated per run on the real side's own out-of-fold scores: 90% of them pass.
    real_scores = p_real[len(gen_idx) :]
    gate = min(REAL_THRESHOLD, float(np.quantile(real_scores, 1 - REAL_PASS_TARGET)))
    acc = [p_gen[i] for i in gen_idx if accepted[i]]
    return RealismResult(
        computed=True,
        share_accepted=round(float(np.mean([p >= REAL_THRESHOLD for p in acc])), 4) if acc else None,
        n_accepted=len(acc),
        share_generated=round(float(np.mean([p_gen[i] >= REAL_THRESHOLD for i in gen_idx])), 4),
        n_generated=len(gen_idx),
        n_real=len(real_idx),
        auc=round(float(roc_auc_score(labels, p_real)), 4),
        folds=folds,
        max_chars=max_chars,
        gate=round(gate, 4),
        real_pass_share=round(float(np.mean(real_scores >= round(gate, 4))), 4),
        p_real=[round(float(p_gen[i]), 4) if i in p_gen else 0.0 for i in range(len(generated))],
    )


def realism_control(
    real: Sequence[str],
    real_groups: Sequence[str] | None = None,
    *,
    n: int,
    draws: int = CONTROL_DRAWS,
    seed: int = 0,
    max_real: int | None = 400,
    max_chars: int | None = None,
) -> dict[str, Any] | None:
    """The realism share of a writer that *is* real: ``n`` real texts scored in the generations' place.

    A writer indistinguishable from real patents does not score 100%. The classifier finds
    nothing to learn, its out-of-fold P(real) scatters around 0.5, and about half of a batch
    reaches the threshold; a batch of ``n`` swings by chance around that. So a realism share is
    read against this figure, not against 100%. Each draw takes ``n`` texts of distinct
    records as stand-in generations and the other records as the real side, and runs
    :func:`realism_share` on them, cut to ``max_chars`` (pass the generations' cut, so that
    both figures see texts of one length).

    Returns ``{"share", "low", "high", "auc", "n", "draws"}`` (the mean share, its lowest and
    highest draw, the mean AUC), or None when there are too few records for two sides of ``n``.
    """
    groups = list(real_groups) if real_groups is not None else [f"real-{i}" for i in range(len(real))]
    by_group: dict[str, list[int]] = {}
    for i, (text, group) in enumerate(zip(real, groups, strict=True)):
        if text and text.strip():
            by_group.setdefault(group, []).append(i)
    names = sorted(by_group)
    if n < MIN_GENERATIONS or len(names) < n + MIN_GENERATIONS:
        return None
    rng = np.random.default_rng(seed)
    shares, aucs = [], []
    for draw in range(draws):
        order = rng.permutation(len(names))
        stand_in = [by_group[names[g]][0] for g in order[:n]]
        rest = [i for g in order[n:] for i in by_group[names[g]]]
        result = realism_share(
            [real[i] for i in stand_in], [real[i] for i in rest], real_groups=[groups[i] for i in rest],
            seed=seed + draw, max_real=max_real, max_chars=max_chars,
        )  # fmt: skip
        shares.append(result.share_generated)
        aucs.append(result.auc)
    return {
        "share": round(float(np.mean(shares)), 4), "low": round(float(min(shares)), 4),
        "high": round(float(max(shares)), 4), "auc": round(float(np.mean(aucs)), 4), "n": n, "draws": draws,
    }  # fmt: skip
