"""Bootstrap 95 % intervals for Cohen's kappa and ROC-AUC, single and paired, flat or by stratum.

100 human labels put an interval of about ±0.18 on kappa, so a figure without its interval invites
choosing on noise. With ``strata`` (e.g. the source of each record under grouped cross-validation)
each resample draws within every stratum and the metric is the mean over strata, so a model must
hold on every source, not only on the largest one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Resamples per interval: the 2.5/97.5 percentiles of 1,000 draws move by about ±0.01.
N_BOOT = 1000


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC-AUC by ranks (ties count half); NaN when ``y`` holds one class."""
    y = np.asarray(y, dtype=bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p), dtype=np.float64)
    sorted_p = np.asarray(p)[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_p, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def kappa(y: np.ndarray, pred: np.ndarray) -> float:
    """Cohen's kappa of two 0/1 raters; NaN when chance agreement is 1."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    if len(y) == 0:
        return float("nan")
    observed = float(np.mean(y == pred))
    a, b = y.mean(), pred.mean()
    expected = a * b + (1 - a) * (1 - b)
    return float("nan") if expected >= 1.0 else float((observed - expected) / (1 - expected))


def _by_stratum(metric, y, p, strata) -> float:
    if strata is None:
        return metric(y, p)
    values = [metric(y[strata == s], p[strata == s]) for s in np.unique(strata)]
    values = [v for v in values if not np.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def _metrics(y, p, strata, threshold) -> tuple[float, float]:
    return (
        _by_stratum(lambda a, b: kappa(a, b >= threshold), y, p, strata),
        _by_stratum(auc, y, p, strata),
    )


def _resamples(strata: np.ndarray | None, n: int, n_boot: int, seed: int):
    """Index arrays of ``n_boot`` bootstrap resamples, drawn within each stratum."""
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    for _ in range(n_boot):
        yield np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])


def _ci(values: list[float]) -> list[float | None]:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return [None, None]
    return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]


def _none_if_nan(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def with_intervals(
    y_true: Sequence[int],
    p_green: Sequence[float],
    *,
    strata: Sequence[str] | None = None,
    threshold: float = 0.5,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict:
    """Kappa (at ``threshold``) and AUC with bootstrap 95 % intervals.

    Returns ``{"n", "green", "kappa", "kappa_ci": [lo, hi], "auc", "auc_ci", "predicted_green"}``;
    a metric that is undefined (one class only) is None. With ``strata``, both are means over strata.
    """
    y, p = np.asarray(y_true, dtype=int), np.asarray(p_green, dtype=float)
    s = None if strata is None else np.asarray(strata)
    k, a = _metrics(y, p, s, threshold)
    boots = [
        _metrics(y[idx], p[idx], None if s is None else s[idx], threshold)
        for idx in _resamples(s, len(y), n_boot, seed)
    ]
    return {
        "n": len(y),
        "green": int(y.sum()),
        "kappa": _none_if_nan(k),
        "kappa_ci": _ci([b[0] for b in boots]),
        "auc": _none_if_nan(a),
        "auc_ci": _ci([b[1] for b in boots]),
        "predicted_green": float(np.mean(p >= threshold)) if len(p) else 0.0,
    }


def paired_difference(
    y_true: Sequence[int],
    p_a: Sequence[float],
    p_b: Sequence[float],
    *,
    metric: str = "auc",
    strata: Sequence[str] | None = None,
    threshold: float = 0.5,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict:
    """``metric(a) - metric(b)`` on the same examples, with a paired bootstrap 95 % interval.

    Paired resampling (both models scored on the same draw) separates two models far more often
    than comparing their own intervals, which ignore that both err on the same hard examples.
    """
    y = np.asarray(y_true, dtype=int)
    a, b = np.asarray(p_a, dtype=float), np.asarray(p_b, dtype=float)
    s = None if strata is None else np.asarray(strata)
    pick = 1 if metric == "auc" else 0

    def diff(idx):
        ss = None if s is None else s[idx]
        return _metrics(y[idx], a[idx], ss, threshold)[pick] - _metrics(y[idx], b[idx], ss, threshold)[pick]

    point = diff(np.arange(len(y)))
    boots = [diff(idx) for idx in _resamples(s, len(y), n_boot, seed)]
    lo, hi = _ci(boots)
    return {"diff": _none_if_nan(point), "ci": [lo, hi], "separated": lo is not None and (lo > 0 or hi < 0)}


def fmt_interval(value: float | None, ci: Sequence[float | None] | None, digits: int = 3) -> str:
    """``0.300 [0.12, 0.47]``; ``n/a`` when undefined."""
    if value is None:
        return "n/a"
    if not ci or ci[0] is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{ci[0]:.2f}, {ci[1]:.2f}]"
