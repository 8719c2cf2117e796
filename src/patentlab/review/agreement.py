"""Agreement between reviewers (Cohen's kappa), overrides of the LLM, and per-reviewer counts."""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from patentlab.classify.metrics import cohen_kappa


def agreement_report(decisions: pd.DataFrame) -> dict:
    """Kappa on claims reviewed by two or more reviewers, LLM overrides, and counts per reviewer.

    ``decisions`` is :meth:`ReviewStore.decisions` (claim_id, reviewer, label, suggestion, …).
    ``pooled_kappa`` pairs every two reviewers of each shared claim (Cohen's kappa over those
    pairs); ``pairs`` gives kappa per pair of reviewers.
    """
    by_claim = {
        cid: dict(zip(g["reviewer"], g["label"], strict=True)) for cid, g in decisions.groupby("claim_id")
    }
    shared = {cid: labels for cid, labels in by_claim.items() if len(labels) >= 2}
    pooled_a: list[int] = []
    pooled_b: list[int] = []
    per_pair: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for labels in shared.values():
        for ra, rb in combinations(sorted(labels), 2):
            pooled_a.append(int(labels[ra]))
            pooled_b.append(int(labels[rb]))
            xs, ys = per_pair.setdefault((ra, rb), ([], []))
            xs.append(int(labels[ra]))
            ys.append(int(labels[rb]))
    pairs = [
        {
            "reviewers": f"{ra} / {rb}",
            "n": len(xs),
            "agreement": sum(x == y for x, y in zip(xs, ys, strict=True)) / len(xs),
            "kappa": cohen_kappa(xs, ys),
        }
        for (ra, rb), (xs, ys) in sorted(per_pair.items())
    ]
    with_suggestion = decisions[decisions["suggestion"].notna()]
    overrides = with_suggestion["label"].astype(int) != with_suggestion["suggestion"].astype(int)
    per_reviewer = []
    for name, g in decisions.groupby("reviewer", sort=True):
        gs = g[g["suggestion"].notna()]
        over = int((gs["label"].astype(int) != gs["suggestion"].astype(int)).sum())
        per_reviewer.append(
            {
                "reviewer": name,
                "role": g["role"].iloc[0] if "role" in g else "",
                "decisions": len(g),
                "green": int((g["label"] == 1).sum()),
                "not_green": int((g["label"] == 0).sum()),
                "overrides": over,
                "override_rate": over / len(gs) if len(gs) else None,
            }
        )
    return {
        "decisions": len(decisions),
        "claims_reviewed": len(by_claim),
        "claims_reviewed_twice": len(shared),
        "pooled_kappa": cohen_kappa(pooled_a, pooled_b),
        "pairs": pairs,
        "override_rate": float(overrides.mean()) if len(overrides) else None,
        "overrides": int(overrides.sum()),
        "decisions_with_suggestion": len(with_suggestion),
        "per_reviewer": per_reviewer,
    }
