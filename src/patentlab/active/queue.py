"""One active-learning round: score a pool, pick a batch, write the queue and its summary."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from patentlab.active.rounds import RoundLedger
from patentlab.active.strategies import as_proba, redundancy, select, uncertainty
from patentlab.errors import PatentlabError


def load_pool(path: str | Path) -> pd.DataFrame:
    """A pool of claims (``id`` and ``text``, or claim 1 of ``claims``) from CSV, Parquet or JSONL."""
    from patentlab.tables import claim_text, id_column_of, read_table, text_column_of

    frame = read_table(path)
    column = id_column_of(list(frame.columns))
    if column is None:
        raise PatentlabError("the pool has no id column (id, doc_id or patent_id)", path=path)
    text_col = text_column_of(list(frame.columns), None, path)
    pool = pd.DataFrame({"id": frame[column].astype(str), "text": [claim_text(v) for v in frame[text_col]]})
    empty = np.flatnonzero(pool["text"].str.strip() == "")
    if len(empty):
        raise PatentlabError("empty claim text", path=path, row=int(empty[0]) + 1, field=text_col)
    if pool["id"].duplicated().any():
        dup = pool["id"][pool["id"].duplicated()].iloc[0]
        raise PatentlabError(f"the pool repeats id '{dup}'", path=path)
    return pool


def select_round(
    pool: pd.DataFrame,
    p_green: np.ndarray,
    ledger: RoundLedger,
    *,
    strategy: str = "uncertainty",
    k: int = 100,
    embeddings: np.ndarray | None = None,
    labelled_ids: Iterable[str] = (),
    seed: int = 0,
    model: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Select the next round's queue from ``pool`` and record it in ``ledger``.

    Returns the queue (``id, text, p_green, u, score, strategy, round, rank``) and a summary:
    pool size, how many ids were excluded as already queued or labelled, and the ``u`` range.
    """
    p_green = np.asarray(p_green, dtype=np.float64)
    if len(p_green) != len(pool):
        raise PatentlabError(f"{len(p_green)} probabilities for a pool of {len(pool)} claims")
    ledger.add_labelled(labelled_ids)
    excluded = ledger.excluded_ids()
    exclude = pool["id"].isin(excluded).to_numpy()
    if exclude.all():
        raise PatentlabError("every claim in the pool is already labelled or queued")
    chosen = select(strategy, p_green, k, embeddings=embeddings, exclude=exclude, seed=seed)
    round_number = ledger.next_round()
    u = uncertainty(as_proba(p_green))
    idx = chosen.indices
    queue = pd.DataFrame(
        {
            "id": pool["id"].to_numpy()[idx],
            "text": pool["text"].to_numpy()[idx],
            "p_green": p_green[idx],
            "u": u[idx],
            "score": chosen.scores,
            "strategy": strategy,
            "round": np.full(len(idx), round_number, dtype=np.int32),
            "rank": np.arange(1, len(idx) + 1, dtype=np.int32),
        }
    )
    summary = {
        "strategy": strategy,
        "k": int(k),
        "selected": len(queue),
        "pool": len(pool),
        "excluded": int(exclude.sum()),
        "u_min": float(queue["u"].min()),
        "u_max": float(queue["u"].max()),
        "u_mean": float(queue["u"].mean()),
        "p_green_min": float(queue["p_green"].min()),
        "p_green_max": float(queue["p_green"].max()),
        "model": model,
    }
    if embeddings is not None:
        summary.update(redundancy(np.asarray(embeddings)[idx]))
    ledger.record(queue, summary)
    summary["round"] = round_number
    return queue, summary
