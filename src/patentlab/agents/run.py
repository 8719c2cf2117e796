"""Label a queue file with a panel: resumable, with agent labels and the human queue kept apart.

Outputs in ``out_dir``::

    progress.jsonl          # one finished claim per line; a rerun skips these (resume)
    agent_labels.parquet    # every claim: the panel's label, P(green), routing and reasons
    human_queue.parquet     # the claims routed to a human, with the agents' arguments as notes
    summary.json            # counts, share routed, seconds per claim, the panel's settings

The panel's label is stored as ``agent_label`` with ``label_source = "agents"``. No file written
here has a human-label column: agent labels can't be mistaken for human gold.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from patentlab.agents.panel import AgentPanel, ClaimLabel
from patentlab.agents.routing import AGENTS, HUMAN
from patentlab.errors import PatentlabError
from patentlab.jsonl import iter_objects, write_objects
from patentlab.storage import atomic_path, write_json

PROGRESS_FILE = "progress.jsonl"
LABELS_FILE = "agent_labels.parquet"
HUMAN_QUEUE_FILE = "human_queue.parquet"
SUMMARY_FILE = "summary.json"


def _load_progress(path: Path, settings: dict) -> dict[str, dict]:
    if not path.exists():
        return {}
    done = {}
    # A line cut off by an interruption is skipped: that claim is redone.
    for _, row in iter_objects(path, skip_invalid=True):
        if row.get("settings") != settings:
            raise PatentlabError(
                "this output folder holds labels from other panel settings; use a new --out", path=path
            )
        done[row["id"]] = row
    return done


def label_queue(
    queue: pd.DataFrame,
    out_dir: str | Path,
    panel: AgentPanel,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Run ``panel`` over ``queue`` (``id`` and ``text`` columns), resuming earlier progress."""
    for column in ("id", "text"):
        if column not in queue.columns:
            raise PatentlabError(f"the queue has no '{column}' column")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = panel.describe()
    progress_path = out / PROGRESS_FILE
    done = _load_progress(progress_path, settings)
    todo = [(str(i), str(t)) for i, t in zip(queue["id"], queue["text"], strict=True) if str(i) not in done]
    total, finished = len(queue), len(queue) - len(todo)
    if on_progress:
        on_progress(finished, total)
    start = time.perf_counter()

    def save(batch: list[ClaimLabel]) -> None:
        nonlocal finished
        rows = [{**result.to_row(), "settings": settings} for result in batch]
        with progress_path.open("a", encoding="utf-8") as f:
            write_objects(f, rows)
        done.update((row["id"], row) for row in rows)
        finished += len(batch)
        if on_progress:
            on_progress(finished, total)

    panel.label(todo, on_batch=save)
    elapsed = time.perf_counter() - start
    return _write_outputs(queue, done, out, settings, elapsed, len(todo))


def _write_outputs(
    queue: pd.DataFrame, done: dict[str, dict], out: Path, settings: dict, elapsed: float, n_new: int
) -> dict:
    rows = []
    for record in queue.to_dict("records"):
        result = {k: v for k, v in done[str(record["id"])].items() if k not in ("settings", "id")}
        row = {"id": str(record["id"]), "text": record["text"]}
        # The queue's p_green is the baseline classifier's; the panel's is the judge's label token.
        row.update({f"{k}_baseline" if k == "p_green" else k: record[k]
                    for k in ("p_green", "u", "round") if k in record})  # fmt: skip
        row["agent_label"] = result.pop("label")
        row["p_green_llm"] = result.pop("p_green")
        row["label_source"] = "agents" if result["route"] == AGENTS else None
        rows.append({**row, **result})
    frame = pd.DataFrame(rows)
    frame["reasons"] = frame["reasons"].map(lambda r: "; ".join(r))
    frame["injections"] = frame["injections"].map(lambda r: "; ".join(r))
    frame["repairs"] = frame["repairs"].map(lambda r: "; ".join(r))
    with atomic_path(out / LABELS_FILE) as tmp:
        frame.to_parquet(tmp, index=False)
    human = frame[frame["route"] == HUMAN].drop(columns=["label_source"])
    with atomic_path(out / HUMAN_QUEUE_FILE) as tmp:
        human.to_parquet(tmp, index=False)
    n = len(frame)
    summary = {
        "claims": n,
        "to_agents": int((frame["route"] == AGENTS).sum()),
        "to_human": int((frame["route"] == HUMAN).sum()),
        "share_to_human": float((frame["route"] == HUMAN).mean()) if n else 0.0,
        "agent_green": int((frame["agent_label"] == 1).sum()),
        "agent_not_green": int((frame["agent_label"] == 0).sum()),
        "no_label": int(frame["agent_label"].isna().sum()),
        "seconds_per_claim": float(frame["seconds"].mean()) if n else 0.0,
        "seconds_this_run": elapsed,
        "claims_this_run": n_new,
        "reasons": dict(Counter(r for i in frame["id"] for r in done[i]["reasons"]).most_common()),
        "panel": settings,
    }
    write_json(out / SUMMARY_FILE, summary)
    return summary
