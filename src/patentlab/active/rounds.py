"""The bookkeeping of active-learning rounds: what was queued when, so nothing is asked twice.

An active-learning directory holds one queue file per round and ``rounds.json``, the ledger::

    active/
      rounds.json                 # every round: strategy, k, model, u range, queue file
      queue_round001.parquet      # id, text, p_green, u, score, strategy, round, rank
      queue_round002.parquet

A claim that was queued in any earlier round, or whose id appears in a registered labels file
(human gold, review exports), is never selected again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from patentlab.errors import PatentlabError
from patentlab.storage import atomic_path, read_json, write_json

LEDGER_FILE = "rounds.json"
QUEUE_COLUMNS = ("id", "text", "p_green", "u", "score", "strategy", "round", "rank")


def queue_file(round_number: int) -> str:
    return f"queue_round{round_number:03d}.parquet"


def read_ids(path: str | Path) -> set[str]:
    """The claim ids in a labels file (CSV, Parquet or JSONL with an ``id``/``doc_id`` column)."""
    from patentlab.tables import ID_COLUMNS, id_column_of, read_table

    frame = read_table(path)
    column = id_column_of(list(frame.columns))
    if column is None:
        raise PatentlabError(f"no id column (looked for {', '.join(ID_COLUMNS)})", path=path)
    return {str(v) for v in frame[column]}


class RoundLedger:
    """The rounds of one active-learning run, stored in ``directory/rounds.json``."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        path = self.directory / LEDGER_FILE
        if path.exists():
            state = read_json(path, "the ledger")
        else:
            state = {"format": "patentlab-active/1", "rounds": [], "labelled_ids": []}
        self._state = state

    @property
    def rounds(self) -> list[dict]:
        return list(self._state["rounds"])

    def next_round(self) -> int:
        return len(self._state["rounds"]) + 1

    def add_labelled(self, ids: Iterable[str]) -> None:
        """Register ids that are already labelled elsewhere (kept in the ledger for later rounds)."""
        known = set(self._state["labelled_ids"])
        self._state["labelled_ids"] = sorted(known | {str(i) for i in ids})

    def excluded_ids(self) -> set[str]:
        """Every id queued in an earlier round or registered as labelled."""
        ids = set(self._state["labelled_ids"])
        for entry in self._state["rounds"]:
            path = self.directory / entry["queue"]
            if not path.exists():
                raise PatentlabError("a queue listed in the ledger is missing", path=path)
            ids |= set(pd.read_parquet(path, columns=["id"])["id"].astype(str))
        return ids

    def record(self, queue: pd.DataFrame, info: dict) -> Path:
        """Write ``queue`` as the next round's file and append ``info`` to the ledger, atomically."""
        number = int(queue["round"].iloc[0]) if len(queue) else self.next_round()
        if number != self.next_round():
            raise PatentlabError(f"queue is for round {number}, but the next round is {self.next_round()}")
        target = self.directory / queue_file(number)
        with atomic_path(target) as tmp:
            queue.to_parquet(tmp, index=False)
        entry = {
            "round": number,
            "queue": target.name,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **info,
        }
        self._state["rounds"].append(entry)
        write_json(self.directory / LEDGER_FILE, self._state)
        return target
