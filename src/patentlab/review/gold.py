"""Gold labels from the reviewers' decisions: a conflict policy, provenance, and export."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from patentlab.errors import PatentlabError
from patentlab.review.store import ReviewStore, decided_at_iso
from patentlab.storage import atomic_path

#: ``admin``: an admin's label settles the claim, else the majority; ``majority``: the strict
#: majority of reviewers; ``unanimous``: every reviewer agrees. Anything else is a conflict.
POLICIES = ("admin", "majority", "unanimous")

#: Export columns. ``doc_id``, ``text`` and ``is_green_human`` are what ``classify train --gold``
#: reads; the rest is provenance (who decided, when, and what the agents suggested).
GOLD_COLUMNS = [
    "doc_id",
    "text",
    "is_green_human",
    "resolution",
    "n_reviews",
    "reviewers",
    "decided_at",
    "human_notes",
    "llm_green_suggested",
    "llm_confidence",
    "llm_rationale",
    "override",
    "p_green",
    "u",
]


def resolve(labels: list[tuple[str, str, int]], policy: str = "admin") -> tuple[int | None, str]:
    """The gold label of one claim from ``(reviewer, role, label)`` triples, and how it was reached.

    Returns ``(None, "conflict")`` when the policy cannot settle it.
    """
    if policy not in POLICIES:
        raise PatentlabError(f"policy must be one of {', '.join(POLICIES)}", field="policy")
    if not labels:
        return None, "unreviewed"
    votes = Counter(label for _, _, label in labels)
    if len(votes) == 1:
        return labels[0][2], "unanimous" if len(labels) > 1 else "single"
    if policy == "unanimous":
        return None, "conflict"
    if policy == "admin":
        admin_votes = Counter(label for _, role, label in labels if role == "admin")
        if len(admin_votes) == 1:
            return next(iter(admin_votes)), "admin"
    (top, top_n), (_, second_n) = votes.most_common(2)
    return (top, "majority") if top_n > second_n else (None, "conflict")


def gold_labels(store: ReviewStore, policy: str = "admin") -> tuple[pd.DataFrame, list[str]]:
    """Gold labels (``GOLD_COLUMNS``) for every settled claim, and the ids still in conflict."""
    decisions = store.decisions()
    claims = store.claims().set_index("id", drop=False)
    rows, conflicts = [], []
    for claim_id, group in decisions.groupby("claim_id", sort=False):
        triples = list(zip(group["reviewer"], group["role"], group["label"].astype(int), strict=True))
        label, how = resolve(triples, policy)
        if label is None:
            conflicts.append(str(claim_id))
            continue
        claim = claims.loc[claim_id]
        suggestion = claim["suggestion"]
        has_suggestion = suggestion is not None and suggestion == suggestion
        notes = [f"{r}: {n}" for r, n in zip(group["reviewer"], group["note"], strict=True) if n]
        rows.append(
            {
                "doc_id": claim_id,
                "text": claim["text"],
                "is_green_human": label,
                "resolution": how,
                "n_reviews": len(group),
                "reviewers": ";".join(
                    f"{r}={int(v)}" for r, v in zip(group["reviewer"], group["label"], strict=True)
                ),
                "decided_at": decided_at_iso(max(group["decided_at"])),
                "human_notes": " | ".join(notes),
                "llm_green_suggested": int(suggestion) if has_suggestion else None,
                "llm_confidence": claim["confidence"],
                "llm_rationale": claim["rationale"],
                "override": bool(has_suggestion and int(suggestion) != label),
                "p_green": claim["p_green"],
                "u": claim["u"],
            }
        )
    frame = pd.DataFrame(rows, columns=GOLD_COLUMNS)
    frame["is_green_human"] = frame["is_green_human"].astype("int64")
    frame["llm_green_suggested"] = frame["llm_green_suggested"].astype("Int64")
    return frame, conflicts


def export_gold(store: ReviewStore, path: str | Path, *, policy: str = "admin") -> tuple[int, list[str]]:
    """Write the gold labels to ``path`` (.csv or .parquet) atomically; returns (rows, conflicts)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise PatentlabError("export to a .csv or .parquet file", path=path)
    frame, conflicts = gold_labels(store, policy)
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    return len(frame), conflicts
