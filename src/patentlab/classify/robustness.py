"""Robustness: kappa and AUC by text length quartile and by kind of text (claims vs abstracts).

A single figure can hide that a model works on abstracts only, or on short claims only. These
slices are cut from out-of-fold scores (each record scored by a model that never saw its source),
so they say how the model holds on text it was not fitted to.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from patentlab.classify.intervals import N_BOOT, with_intervals


def length_quartiles(texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Each text's quartile (0-3) by its number of words, and the quartiles' word ranges."""
    words = np.array([len(t.split()) for t in texts])
    cuts = np.percentile(words, [25, 50, 75])
    quartile = np.searchsorted(cuts, words, side="right")
    labels = []
    for q in range(4):
        member = words[quartile == q]
        labels.append(f"Q{q + 1} ({member.min()}-{member.max()} words)" if len(member) else f"Q{q + 1}")
    return quartile, labels


def robustness_rows(
    y_true: Sequence[int],
    p_green: Sequence[float],
    texts: Sequence[str],
    kinds: Sequence[str],
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> list[dict]:
    """One row per slice: each kind of text (``claims``/``abstracts``), then each length quartile.

    A slice with one class only has no AUC or kappa (None), and says so rather than hiding.
    """
    y, p, kinds = np.asarray(y_true, dtype=int), np.asarray(p_green, dtype=float), np.asarray(kinds)
    rows = []
    for kind in sorted(set(kinds.tolist())):
        mask = kinds == kind
        rows.append({"slice": kind, **with_intervals(y[mask], p[mask], n_boot=n_boot, seed=seed)})
    quartile, labels = length_quartiles(texts)
    for q, label in enumerate(labels):
        mask = quartile == q
        if mask.any():
            rows.append({"slice": label, **with_intervals(y[mask], p[mask], n_boot=n_boot, seed=seed)})
    return rows
