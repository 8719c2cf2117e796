"""Query strategies: which unlabelled claims a human (or the agents) should look at next.

Every strategy is a pure function of class probabilities (and, for the diverse batch, of
embeddings), so it works with any classifier: the frozen baseline, the fine-tuned model, or a
file of scores. Probabilities are ``(n, C)`` arrays; a 1-D array is read as ``p_green`` of a
binary classifier.

For two classes, uncertainty, margin and entropy are all decreasing functions of ``|p − 0.5|``
and so rank the pool identically; they differ for three or more classes (for example a Y02
head). The diverse batch is what changes *which* claims a binary classifier sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from patentlab.errors import PatentlabError


def as_proba(p: np.ndarray) -> np.ndarray:
    """``(n, C)`` probabilities from an ``(n, C)`` array or a 1-D ``p_green`` array."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 1:
        p = np.stack([1.0 - p, p], axis=1)
    if p.ndim != 2 or p.shape[1] < 2:
        raise PatentlabError(f"probabilities must be 1-D p_green or (n, classes), not shape {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise PatentlabError("probabilities must be finite numbers in [0, 1]")
    return p


def uncertainty(p: np.ndarray) -> np.ndarray:
    """The card's uncertainty, ``u = 1 − 2|p − 0.5|`` for two classes (1 = a coin toss).

    For ``C`` classes this is least confidence rescaled to [0, 1]: ``(1 − max p) · C / (C − 1)``,
    which equals the card's formula when ``C = 2``.
    """
    p = as_proba(p)
    c = p.shape[1]
    return (1.0 - p.max(axis=1)) * c / (c - 1)


def margin(p: np.ndarray) -> np.ndarray:
    """``1 − (p_top1 − p_top2)``: high when the two likeliest classes are close."""
    p = np.sort(as_proba(p), axis=1)
    return 1.0 - (p[:, -1] - p[:, -2])


def entropy(p: np.ndarray) -> np.ndarray:
    """Shannon entropy of the class distribution, normalised to [0, 1] by ``log C``."""
    p = as_proba(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return h / np.log(p.shape[1])


class QueryStrategy:
    """One way to pick the next claims for a human: score the pool, then choose ``k`` rows.

    A strategy is registered once, in :data:`REGISTRY`, under its ``name``; the CLI, the queue
    and the tests read it from there. Subclass :class:`ConfidenceStrategy` for a rule on the
    class probabilities alone, or :class:`EmbeddingStrategy` for one that also needs the pool's
    embeddings (``needs_embeddings`` tells callers to compute them).

    Example: a new strategy is one subclass and one :func:`register` call::

        class LeastGreen(ConfidenceStrategy):
            name = "least-green"

            def score(self, proba):
                return 1.0 - proba[:, 1]

        register(LeastGreen())
    """

    name: str = ""
    needs_embeddings: bool = False

    def score(self, proba: np.ndarray) -> np.ndarray:
        """One number per row, higher = more worth a human's time."""
        raise NotImplementedError

    def choose(
        self,
        scores: np.ndarray,
        k: int,
        *,
        available: np.ndarray | None,
        embeddings: np.ndarray | None,
        seed: int,
    ) -> np.ndarray:
        """Indices of the ``k`` rows to send, best first, among the ``available`` rows."""
        raise NotImplementedError


class ConfidenceStrategy(QueryStrategy):
    """A strategy that ranks the pool by :meth:`score` and sends the top ``k``."""

    def choose(self, scores, k, *, available, embeddings, seed):
        return top_k(scores, k, available)


class EmbeddingStrategy(QueryStrategy):
    """A strategy that also reads the pool's embeddings (for example to spread a batch out)."""

    needs_embeddings = True


class _Scorer(ConfidenceStrategy):
    def __init__(self, name: str, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.name, self._fn = name, fn
        self.__doc__ = fn.__doc__

    def score(self, proba: np.ndarray) -> np.ndarray:
        return self._fn(proba)


class DiverseBatch(EmbeddingStrategy):
    """Uncertainty, one claim per k-means cluster of the uncertain head (:func:`diverse_batch`)."""

    name = "diverse"

    def score(self, proba: np.ndarray) -> np.ndarray:
        return uncertainty(proba)

    def choose(self, scores, k, *, available, embeddings, seed):
        return diverse_batch(scores, embeddings, k, available=available, seed=seed)


#: Every registered strategy by name, in the order the CLI lists them.
REGISTRY: dict[str, QueryStrategy] = {}


def register(strategy: QueryStrategy) -> QueryStrategy:
    """Add a strategy to :data:`REGISTRY` (its name must be new)."""
    if not strategy.name or strategy.name in REGISTRY:
        raise ValueError(f"a query strategy needs a new name, not {strategy.name!r}")
    REGISTRY[strategy.name] = strategy
    return strategy


for _name, _fn in (("uncertainty", uncertainty), ("margin", margin), ("entropy", entropy)):
    register(_Scorer(_name, _fn))
register(DiverseBatch())


def strategy_names() -> tuple[str, ...]:
    """The names ``select`` accepts."""
    return tuple(REGISTRY)


#: The built-in names (kept for callers that list them; :func:`strategy_names` sees later ones).
STRATEGIES: tuple[str, ...] = strategy_names()


@dataclass(frozen=True)
class Selection:
    """The chosen rows (best first) and the score each strategy gave them."""

    indices: np.ndarray
    scores: np.ndarray
    strategy: str


def top_k(scores: np.ndarray, k: int, available: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` highest scores among ``available`` rows; ties go to the earlier row."""
    scores = np.asarray(scores, dtype=np.float64)
    candidates = np.arange(len(scores)) if available is None else np.flatnonzero(available)
    # A stable sort on the negated score keeps the pool's order among equal scores: reproducible.
    order = np.argsort(-scores[candidates], kind="stable")
    return candidates[order[:k]]


def diverse_batch(
    scores: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    *,
    available: np.ndarray | None = None,
    candidate_factor: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Cluster-then-rank: the most uncertain claim of each of ``k`` clusters of the top candidates.

    The ``candidate_factor · k`` most uncertain claims are clustered into ``k`` groups with
    k-means on unit-length embeddings (cosine geometry), and each group sends its most uncertain
    member. Copies and near-copies of one claim fall into one cluster, so the batch holds at most
    one of them, while every pick is still among the uncertain head of the pool.
    """
    from sklearn.cluster import KMeans

    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) != len(scores):
        raise PatentlabError(
            f"embeddings must be (n, dim) with n = {len(scores)} rows, not shape {embeddings.shape}"
        )
    candidates = top_k(scores, max(k, candidate_factor * k), available)
    if len(candidates) <= k:
        return candidates
    x = embeddings[candidates]
    x = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
    n_distinct = len(np.unique(np.round(x, 6), axis=0))
    n_clusters = min(k, n_distinct)
    labels = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit_predict(x)
    picks = []
    for cluster in range(n_clusters):
        members = candidates[labels == cluster]  # candidates are sorted by score, best first
        picks.append(members[0])
    picks = np.asarray(picks)
    return picks[np.argsort(-np.asarray(scores)[picks], kind="stable")]


def select(
    strategy: str,
    proba: np.ndarray,
    k: int,
    *,
    embeddings: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
    seed: int = 0,
) -> Selection:
    """Choose ``k`` rows of a pool with a registered strategy.

    Args:
        strategy: a name in :data:`REGISTRY`.
        proba: ``(n, C)`` class probabilities or a 1-D ``p_green``.
        k: batch size (fewer when fewer rows are available).
        embeddings: ``(n, dim)`` vectors, required by strategies that ``needs_embeddings``.
        exclude: boolean mask of rows that must not be chosen (already labelled or queued).
        seed: seed of a strategy that samples or clusters.
    """
    chosen = REGISTRY.get(strategy)
    if chosen is None:
        raise PatentlabError(f"unknown strategy '{strategy}'; choose one of {', '.join(REGISTRY)}")
    if k < 1:
        raise PatentlabError(f"k must be at least 1, not {k}")
    if chosen.needs_embeddings and embeddings is None:
        raise PatentlabError(f"the '{strategy}' strategy needs embeddings of the pool")
    proba = as_proba(proba)
    available = None if exclude is None else ~np.asarray(exclude, dtype=bool)
    scores = chosen.score(proba)
    indices = chosen.choose(scores, k, available=available, embeddings=embeddings, seed=seed)
    return Selection(indices=indices, scores=scores[indices], strategy=strategy)


def redundancy(embeddings: np.ndarray, threshold: float = 0.95) -> dict[str, float]:
    """How alike a batch is: mean pairwise cosine and the number of pairs above ``threshold``."""
    x = np.asarray(embeddings, dtype=np.float64)
    if len(x) < 2:
        return {"mean_cosine": 0.0, "near_duplicate_pairs": 0}
    x = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
    sims = x @ x.T
    upper = sims[np.triu_indices(len(x), k=1)]
    return {"mean_cosine": float(upper.mean()), "near_duplicate_pairs": int((upper > threshold).sum())}
