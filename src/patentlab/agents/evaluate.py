"""Agreement of agent labels with human gold labels: accuracy, Cohen's kappa, F1 (green), AUC."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from patentlab.classify.metrics import cohen_kappa


def agreement(
    human: Sequence[int], agent: Sequence[int | None], p_green: Sequence[float | None] | None = None
) -> dict:
    """Compare agent labels with human labels on the claims where the agents gave a label.

    ``p_green`` (the judge's label-token probability) adds ROC-AUC over the claims that have one:
    it measures whether the model ranks green claims higher even when its labels collapse to
    one class. ``coverage`` is the share of claims with an agent label; ``kappa`` is None when
    it is undefined (humans and agents all gave the one same label).
    """
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    human = np.asarray(human, dtype=int)
    labelled = np.array([a is not None and not (isinstance(a, float) and np.isnan(a)) for a in agent])
    y = human[labelled]
    pred = np.array([int(a) for a, ok in zip(agent, labelled, strict=True) if ok], dtype=int)
    out: dict = {"n": len(human), "coverage": float(labelled.mean()) if len(human) else 0.0}
    if len(pred):
        out.update(
            accuracy=float(accuracy_score(y, pred)),
            kappa=cohen_kappa(y, pred),
            f1_green=float(f1_score(y, pred, zero_division=0)),
            predicted_green=float(pred.mean()),
        )
    if p_green is not None:
        scored = np.array([p is not None and not np.isnan(p) for p in p_green])
        if scored.sum() and len(set(human[scored])) == 2:
            out["auc"] = float(roc_auc_score(human[scored], np.asarray(p_green, dtype=float)[scored]))
    return out
