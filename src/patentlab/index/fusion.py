"""Reciprocal rank fusion: merge ranked lists by rank, so scores on different scales never mix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: The constant of Cormack et al. (2009): it damps the head of each list so that one list's
#: first place does not outweigh agreement between lists.
RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]],
    weights: Mapping[str, float] | None = None,
    *,
    k: int = RRF_K,
) -> list[tuple[int, float]]:
    """Fuse ranked id lists into one: ``score(d) = Σ_list weight / (k + rank_list(d))``.

    Args:
        rankings: for each retriever, its document ids best first.
        weights: per-retriever weight (1.0 when missing); a weight of 0 ignores that list.
        k: the rank offset; larger values flatten the difference between top and lower ranks.

    Returns:
        (id, fused score) pairs, best first; ties keep the order in which ids were first seen.
    """
    if k < 0:
        raise ValueError("k must be non-negative")
    weights = weights or {}
    fused: dict[int, float] = {}
    for name, ids in rankings.items():
        weight = float(weights.get(name, 1.0))
        if weight == 0:
            continue
        for rank, doc in enumerate(ids, start=1):
            fused[doc] = fused.get(doc, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])
