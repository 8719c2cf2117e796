"""Seeded, de-duplicated splits: train_silver / eval_silver / pool_unlabeled.

Two policies (``balance``):

* ``balanced`` (the card's design, the default): 25,000 green + 25,000 non-green records split
  40,000 / 5,000 / 5,000. Smaller corpora get the same proportions, scaled down to the scarce
  class, with a message saying so.
* ``weight`` (for scarce green): eval_silver and pool_unlabeled stay balanced and as large as the
  balanced plan would make them, and train_silver keeps *every other* labelled record; the
  classifier then weights the classes in its loss instead of throwing non-green records away.

A record's text is claim 1, else its abstract, else its title (the ``auto`` choice of
:mod:`patentlab.tables`), so records without claims take part. De-duplication keeps the first
occurrence (in corpus order) of each id and of each normalised text, so no text can leak from one
split into another under a different id. Records with an unknown label go into no split.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from patentlab.corpus.card import build_card, write_card
from patentlab.corpus.ingest import corpus_file
from patentlab.corpus.schema import PATENT_SCHEMA
from patentlab.errors import PatentlabError
from patentlab.storage import atomic_dir

SPLITS: tuple[str, ...] = ("train_silver", "eval_silver", "pool_unlabeled")
CARD_N_PER_CLASS = 25_000
CARD_SIZES: tuple[int, int, int] = (40_000, 5_000, 5_000)
SPLIT_SCHEMA = PATENT_SCHEMA.append(pa.field("text", pa.string()))
BALANCE_POLICIES: tuple[str, ...] = ("balanced", "weight")

_LEADING_NUMBER = r"^\s*\d+\s*[.):]\s*"


@dataclass
class SplitPlan:
    """How many claims of each class go into each split, and why."""

    n_per_class: int
    per_class_sizes: tuple[int, int, int]
    messages: list[str] = field(default_factory=list)
    policy: str = "balanced"
    reason: str = ""
    #: Under ``weight``: train_silver's green and non-green counts (every record not held out).
    train_counts: tuple[int, int] | None = None

    @property
    def sizes(self) -> tuple[int, ...]:
        if self.train_counts is not None:
            return (sum(self.train_counts), 2 * self.per_class_sizes[1], 2 * self.per_class_sizes[2])
        return tuple(2 * s for s in self.per_class_sizes)


def normalized_claim_text(claims: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Claim 1, lower-cased, without its leading number, punctuation collapsed to single spaces."""
    return normalized_text(pc.list_element(claims, 0))


def record_text_array(table: pa.Table | pa.RecordBatch) -> pa.Array:
    """Each record's text: claim 1, else the abstract, else the title (null when it has none)."""
    claims = table["claims"]
    has_claim = pc.fill_null(pc.greater(pc.list_value_length(claims), 0), False)
    safe = pc.if_else(has_claim, claims, pa.scalar([""], pa.list_(pa.string())))
    first = pc.if_else(has_claim, pc.list_element(safe, 0), pa.scalar(None, pa.string()))
    return pc.coalesce(first, table["abstract"], table["title"])


def text_kind_array(table: pa.Table | pa.RecordBatch) -> pa.Array:
    """Which field :func:`record_text_array` took for each record: claims, abstract or title."""
    has_claim = pc.fill_null(pc.greater(pc.list_value_length(table["claims"]), 0), False)
    kind = pc.if_else(pc.is_valid(table["abstract"]), "abstract", "title")
    return pc.if_else(has_claim, "claims", kind)


def normalized_text(first: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A text lower-cased, without a leading claim number, punctuation collapsed to spaces."""
    text = pc.replace_substring_regex(pc.fill_null(first, ""), _LEADING_NUMBER, "")
    text = pc.utf8_lower(text)
    text = pc.replace_substring_regex(text, r"[^\p{L}\p{N}]+", " ")
    return pc.utf8_trim_whitespace(text)


def plan_split(
    n_green: int,
    n_not_green: int,
    n_per_class: int = CARD_N_PER_CLASS,
    sizes: Sequence[int] | None = None,
    balance: str = "balanced",
) -> SplitPlan:
    """Work out per-class split sizes, scaling the card's proportions down when data is short.

    With ``balance="weight"`` eval and pool keep the balanced plan's per-class sizes and train
    takes every other labelled record (``train_counts``).
    """
    if balance not in BALANCE_POLICIES:
        raise PatentlabError(f"--balance must be one of {', '.join(BALANCE_POLICIES)}, not '{balance}'")
    if n_per_class <= 0:
        raise PatentlabError(f"--n-per-class must be positive, not {n_per_class}")
    if sizes is None:
        sizes = [round(s * n_per_class / CARD_N_PER_CLASS) for s in CARD_SIZES]
        sizes[2] = 2 * n_per_class - sizes[0] - sizes[1]
    sizes = list(sizes)
    if len(sizes) != 3 or any(s < 0 for s in sizes):
        raise PatentlabError(f"--sizes needs three non-negative numbers (train,eval,pool), not {sizes}")
    if sum(sizes) != 2 * n_per_class:
        raise PatentlabError(
            f"--sizes {','.join(map(str, sizes))} add up to {sum(sizes)}, "
            f"but the balanced sample holds 2 × {n_per_class} = {2 * n_per_class}"
        )
    messages = []
    available = min(n_green, n_not_green)
    if available == 0:
        raise PatentlabError(
            f"cannot balance: {n_green} green and {n_not_green} non-green claims with known labels"
        )
    n = n_per_class
    scarce = "green" if n_green <= n_not_green else "non-green"
    if available < n_per_class and balance == "balanced":
        n = available
        messages.append(
            f"only {available:,} {scarce} records are available (wanted {n_per_class:,} per class): "
            f"the balanced sample is scaled to {n:,} + {n:,}, keeping the split proportions; "
            f"--balance weight would keep all {n_green + n_not_green:,} labelled records"
        )
    elif available < n_per_class:
        n = available
    fractions = np.array(sizes, dtype=float) / sum(sizes)
    train = int(np.floor(n * fractions[0]))
    evaluation = int(np.floor(n * fractions[1]))
    per_class = (train, evaluation, n - train - evaluation)
    if balance == "balanced":
        reason = f"balanced: the card's design, {n:,} green + {n:,} non-green" + (
            " (scaled down: the scarce class has no more)" if n < n_per_class else ""
        )
        return SplitPlan(n_per_class=n, per_class_sizes=per_class, messages=messages, reason=reason)
    held = evaluation + per_class[2]
    counts = (n_green - held, n_not_green - held)
    why = (
        f"{scarce} is scarce ({available:,} labelled, the card wants {n_per_class:,} per class)"
        if available < n_per_class
        else "requested with --balance weight"
    )
    reason = (
        f"weight: {why}, so train_silver keeps every labelled record not held out "
        f"({counts[0]:,} green + {counts[1]:,} non-green) and the classifier weights the classes "
        f"in its loss; eval_silver and pool_unlabeled stay balanced ({evaluation:,} + {evaluation:,} "
        f"and {per_class[2]:,} + {per_class[2]:,})"
    )
    messages.append(reason)
    return SplitPlan(
        n_per_class=n,
        per_class_sizes=per_class,
        messages=messages,
        policy="weight",
        reason=reason,
        train_counts=counts,
    )


def _scan_batch(batch: pa.RecordBatch, offset: int) -> pd.DataFrame:
    text = normalized_text(record_text_array(batch)).to_pandas()
    return pd.DataFrame(
        {
            "row": np.arange(offset, offset + batch.num_rows),
            "id": batch["id"].to_pandas(),
            "label": batch["is_green_silver"].to_pandas(),
            "text_hash": pd.util.hash_pandas_object(text, index=False).to_numpy(),
            "has_text": text.str.len().to_numpy() > 0,
        }
    )


def _scan(path: Path, progress: Callable[[int], None] | None) -> pd.DataFrame:
    """One streaming pass: row number, id, label and a hash of the normalised claim text.

    Text normalisation (a regex over every claim) dominates the cost; Arrow kernels release the
    GIL, so batches are normalised on all cores, with at most two batches per core in flight.
    """
    parquet = pq.ParquetFile(path)
    workers = os.cpu_count() or 1
    frames: list[pd.DataFrame] = []
    pending: deque[Future[pd.DataFrame]] = deque()
    offset = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        columns = ["id", "claims", "abstract", "title", "is_green_silver"]
        batches = parquet.iter_batches(batch_size=50_000, columns=columns)
        for batch in batches:
            pending.append(pool.submit(_scan_batch, batch, offset))
            offset += batch.num_rows
            while len(pending) > 2 * workers:
                frames.append(pending.popleft().result())
                if progress:
                    progress(int(frames[-1]["row"].iloc[-1]) + 1)
        frames.extend(f.result() for f in pending)
    if progress:
        progress(offset)
    if not frames:
        raise PatentlabError("the corpus is empty", path=path)
    return pd.concat(frames, ignore_index=True)


def split_corpus(
    corpus: str | Path,
    out_dir: str | Path,
    *,
    n_per_class: int = CARD_N_PER_CLASS,
    sizes: Sequence[int] | None = None,
    seed: int = 42,
    balance: str = "balanced",
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write the three splits and the dataset card to ``out_dir``; return the card.

    Args:
        corpus: a corpus directory (from ``ingest``) or its Parquet file.
        out_dir: where ``train_silver.parquet`` etc. and ``dataset_card.{json,md}`` go.
        n_per_class: claims per class in the balanced sample (the card's 25,000 by default).
        sizes: train, eval and pool sizes; they must add up to ``2 * n_per_class``.
        seed: seeds the sampling and the shuffles, so the same seed gives the same split.
        balance: ``balanced`` (the card's design) or ``weight`` (every labelled record not held out
            for eval and pool goes into train_silver; see the module docstring).
    """
    path = corpus_file(corpus)
    scan = _scan(path, progress)
    total = len(scan)
    scan = scan[scan["has_text"]]
    no_text = total - len(scan)
    scan = scan.drop_duplicates("id", keep="first")
    dup_ids = total - no_text - len(scan)
    before = len(scan)
    scan = scan.drop_duplicates("text_hash", keep="first")
    dup_text = before - len(scan)
    known = scan[scan["label"].notna()]
    green = known.loc[known["label"] == 1, "row"].to_numpy()
    not_green = known.loc[known["label"] == 0, "row"].to_numpy()
    plan = plan_split(len(green), len(not_green), n_per_class, sizes, balance)

    rng = np.random.default_rng(seed)
    assignment: dict[int, str] = {}
    for rows in (green, not_green):
        if plan.policy == "balanced":
            chosen = rng.permutation(rows)[: plan.n_per_class]
            cuts = np.cumsum(plan.per_class_sizes)[:-1]
        else:  # held-out eval and pool first, then every remaining record to train
            held = plan.per_class_sizes[1:]
            chosen = rng.permutation(rows)
            chosen = np.concatenate([chosen[sum(held) :], chosen[: sum(held)]])
            cuts = np.cumsum([len(rows) - sum(held), held[0]])
        for name, part in zip(SPLITS, np.split(chosen, cuts), strict=True):
            assignment.update(dict.fromkeys(part.tolist(), name))

    tables = _gather(path, assignment)
    dedup = {
        "corpus_rows": total,
        "without_text": no_text,
        "duplicate_ids_removed": dup_ids,
        "duplicate_texts_removed": dup_text,
        "unknown_label": int(scan["label"].isna().sum()),
        "green_available": len(green),
        "not_green_available": len(not_green),
    }
    with atomic_dir(out_dir) as staging:
        for name in SPLITS:
            table = tables[name]
            order = rng.permutation(table.num_rows)
            pq.write_table(table.take(order), staging / f"{name}.parquet", compression="zstd")
        card = build_card(
            {name: pq.read_table(staging / f"{name}.parquet") for name in SPLITS},
            corpus=str(path),
            seed=seed,
            plan=plan,
            dedup=dedup,
        )
        write_card(card, staging)
    return card


def _gather(path: Path, assignment: dict[int, str]) -> dict[str, pa.Table]:
    """Second streaming pass: pull the selected rows out of the corpus, by split."""
    parts: dict[str, list[pa.Table]] = {name: [] for name in SPLITS}
    parquet = pq.ParquetFile(path)
    offset = 0
    for batch in parquet.iter_batches(batch_size=100_000):
        rows = np.arange(offset, offset + batch.num_rows)
        names = np.array([assignment.get(r) for r in rows.tolist()], dtype=object)
        offset += batch.num_rows
        if not any(n is not None for n in names):
            continue
        table = pa.Table.from_batches([batch]).cast(PATENT_SCHEMA)
        for name in SPLITS:
            mask = names == name
            if mask.any():
                part = table.filter(pa.array(mask))
                parts[name].append(part.append_column("text", record_text_array(part)))
    return {name: pa.concat_tables(p) if p else SPLIT_SCHEMA.empty_table() for name, p in parts.items()}


def read_split(split_dir: str | Path, name: str) -> pa.Table:
    """Load one split (``train_silver``, ``eval_silver`` or ``pool_unlabeled``) as a table."""
    if name not in SPLITS:
        raise PatentlabError(f"unknown split '{name}'; splits are {', '.join(SPLITS)}")
    path = Path(split_dir) / f"{name}.parquet"
    if not path.exists():
        raise PatentlabError("no such split file (run 'patentlab corpus split' first)", path=path)
    return pq.read_table(path)
