"""Labelled texts for training and evaluation: splits, gold files, or any CSV/Parquet/JSONL.

A blank label means "unknown" (a patent without CPC codes): such rows are skipped and counted,
never read as "not green". The record's text follows the ``--text`` choice
(:mod:`patentlab.tables`): claim 1 by default, the abstract for records without claims.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from patentlab.corpus.schema import Y02_CATEGORIES
from patentlab.errors import PatentlabError
from patentlab.tables import (
    check_text_columns,
    claim_text,
    id_column_of,
    read_table,
    record_text_and_kind,
    text_column_of,
)

#: Label columns, in the order they are looked for: silver splits, human gold, the hub layout.
LABEL_COLUMNS = ("is_green_silver", "is_green_human", "is_green", "label")


@dataclass
class LabeledTexts:
    """Claim texts with 0/1 labels, ids, and the Y02 categories when the file has them."""

    texts: list[str]
    labels: np.ndarray
    ids: list[str]
    y02: np.ndarray | None = None  # (n, 8) multi-hot over Y02_CATEGORIES
    source: str = ""
    weights: np.ndarray = field(default=None)  # type: ignore[assignment]
    text: str = "auto"  # the --text choice the texts were read with
    text_kinds: dict[str, int] = field(default_factory=dict)  # rows per field (claims, abstract…)
    skipped_unknown: int = 0  # rows with a blank label: unknown, never counted as 0
    skipped_no_text: int = 0  # rows without the chosen text

    def __post_init__(self) -> None:
        if self.weights is None:
            self.weights = np.ones(len(self.texts), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.texts)

    def concat(self, other: LabeledTexts) -> LabeledTexts:
        """This set followed by ``other`` (Y02 rows of a set without Y02 columns count as unknown)."""
        y02 = None
        if self.y02 is not None or other.y02 is not None:
            y02 = np.concatenate([_y02_or_unknown(self), _y02_or_unknown(other)])
        return LabeledTexts(
            texts=self.texts + other.texts,
            labels=np.concatenate([self.labels, other.labels]),
            ids=self.ids + other.ids,
            y02=y02,
            source=f"{self.source}+{other.source}",
            weights=np.concatenate([self.weights, other.weights]),
            text=self.text if self.text == other.text else "auto",
            text_kinds=dict(Counter(self.text_kinds) + Counter(other.text_kinds)),
            skipped_unknown=self.skipped_unknown + other.skipped_unknown,
            skipped_no_text=self.skipped_no_text + other.skipped_no_text,
        )

    def subset(self, idx: np.ndarray) -> LabeledTexts:
        """The examples at positions ``idx`` (``text_kinds`` stays the whole set's)."""
        idx = np.asarray(idx, dtype=int)
        return LabeledTexts(
            texts=[self.texts[i] for i in idx],
            labels=self.labels[idx],
            ids=[self.ids[i] for i in idx],
            y02=self.y02[idx] if self.y02 is not None else None,
            source=self.source,
            weights=self.weights[idx],
            text=self.text,
            text_kinds=dict(self.text_kinds),
        )


def _y02_or_unknown(data: LabeledTexts) -> np.ndarray:
    return data.y02 if data.y02 is not None else np.full((len(data), len(Y02_CATEGORIES)), -1, np.int8)


def load_labeled(
    path: str | Path,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    prefer_human: bool = False,
    text: str = "auto",
) -> LabeledTexts:
    """Load labelled texts from a split, a gold file (``hitl_gold_100.csv``) or any table.

    The label is ``label_column`` or the first of ``is_green_silver``, ``is_green_human``,
    ``is_green``, ``label`` (``is_green_human`` first when ``prefer_human``). A label must be 0, 1
    or blank; a blank label is unknown and its row is skipped (``skipped_unknown`` counts them).
    The text is ``text_column`` when given, else the ``text`` choice of
    :func:`patentlab.tables.record_text` (claim 1, else the abstract); rows without that text are
    skipped and counted in ``skipped_no_text``.
    """
    frame = read_table(path)
    if len(frame) == 0:
        raise PatentlabError("the file holds no rows", path=path)
    columns = [str(c) for c in frame.columns]
    order = sorted(LABEL_COLUMNS, key=lambda c: c != "is_green_human") if prefer_human else LABEL_COLUMNS
    label_col = label_column or next((c for c in order if c in columns), None)
    if label_col is None or label_col not in columns:
        raise PatentlabError(f"no label column (looked for {', '.join(LABEL_COLUMNS)})", path=path)
    if text_column:
        text_col = text_column_of(columns, text_column, path)
        pairs = [(claim_text(v).strip(), text_column) for v in frame[text_col]]
        text_field = text_col
    else:
        check_text_columns(columns, text, path)
        fields = [c for c in ("claims", "text", "abstract", "title") if c in columns]
        pairs = [record_text_and_kind(row, text) for row in frame[fields].to_dict("records")]
        text_field = "claims" if text in ("auto", "claims", "all") and "claims" in columns else "text"
    keep: list[int] = []
    labels: list[int] = []
    unknown = no_text = 0
    for i, ((body, _), value) in enumerate(zip(pairs, frame[label_col], strict=True)):
        label = _label_value(value)
        if label is None:
            unknown += 1
            continue
        if label not in (0, 1):
            raise PatentlabError(
                f"label must be 0, 1 or blank (unknown), not {value!r}", path=path, row=i + 1, field=label_col
            )
        if not body:
            no_text += 1
            continue
        keep.append(i)
        labels.append(label)
    if not keep:
        what = f"{unknown} with a blank (unknown) label, {no_text} without text ({text_field})"
        raise PatentlabError(f"no row has both a 0/1 label and text: {what}", path=path, field=label_col)
    id_col = id_column_of(columns)
    ids = [str(v) for v in frame[id_col]] if id_col else [str(i + 1) for i in range(len(frame))]
    y02 = None
    if "y02" in columns:
        y02 = np.array(
            [[int(c in set(_as_list(cats))) for c in Y02_CATEGORIES] for cats in frame["y02"]],
            dtype=np.int8,
        )[keep]
    elif all(c in columns for c in Y02_CATEGORIES):
        y02 = frame[list(Y02_CATEGORIES)].astype(int).to_numpy(dtype=np.int8)[keep]
    kinds = Counter(pairs[i][1] for i in keep)
    return LabeledTexts(
        texts=[pairs[i][0] for i in keep],
        labels=np.asarray(labels, dtype=np.int64),
        ids=[ids[i] for i in keep],
        y02=y02,
        source=Path(path).name,
        text=text_column or text,
        text_kinds=dict(kinds),
        skipped_unknown=unknown,
        skipped_no_text=no_text,
    )


def _as_list(cats: object) -> list[str]:
    """The Y02 cell of a split (a list) or of a CSV (``Y02E;Y02T``)."""
    if cats is None:
        return []
    if isinstance(cats, str):
        return [c.strip() for c in cats.split(";") if c.strip()]
    return [str(c) for c in cats]


def _label_value(value: object) -> int | None:
    """0/1 from a label cell; None for a blank (unknown) one; -1 for anything else."""
    import pandas as pd

    if isinstance(value, str):
        if not value.strip():
            return None
    elif value is None or pd.isna(value):  # NaN, pd.NA: a null label in a Parquet split
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1
    return int(number) if number in (0.0, 1.0) else -1


def text_summary(data: LabeledTexts) -> dict:
    """What a model trained on ``data`` read: the ``--text`` choice and rows per field.

    ``default`` is the choice to use at prediction time: ``claims`` or ``abstract`` when every
    training text was that field, else the choice itself.
    """
    kinds = {k: int(v) for k, v in sorted(data.text_kinds.items())}
    default = data.text
    if data.text == "auto" and len(kinds) == 1:
        default = next(iter(kinds))
    return {"choice": data.text, "default": default, "rows": kinds}


def load_gold(path: str | Path, weight: float = 5.0, *, balance: bool = False) -> LabeledTexts:
    """Human gold labels (``doc_id``, ``text``, ``is_green_human``), each weighted ``weight``.

    With ``balance=True`` the weights still average ``weight`` but both classes carry the same
    total (see :func:`class_balanced_weights`).
    """
    data = load_labeled(path, label_column=None, prefer_human=True)
    data.weights = gold_weights(data.labels, weight, balance=balance)
    data.y02 = None  # gold reviews the binary label only
    return data


def class_weights(labels: np.ndarray) -> np.ndarray:
    """Per-example loss weights that give both classes the same total, averaging 1.

    Used when green is scarce (``--balance weight``): every labelled record is kept and the
    loss, not downsampling, makes up for the imbalance.
    """
    return gold_weights(labels, 1.0, balance=True)


def gold_weights(labels: np.ndarray, weight: float, *, balance: bool = False) -> np.ndarray:
    """Loss weights for gold examples: ``weight`` each, or class-balanced with mean ``weight``.

    The card's ×5 gold sat beside 40,000 silver claims, so the gold's own class mix could not move
    the model's prior. Beside a few hundred silver claims it can: 100 gold claims at ×5 that are
    62 % "not green" outweigh the balanced silver and pull every borderline claim to "not green".
    Balancing keeps the ×5 emphasis on the reviewed claims without importing their class skew.
    """
    labels = np.asarray(labels)
    if not balance:
        return np.full(len(labels), float(weight), dtype=np.float32)
    weights = np.empty(len(labels), dtype=np.float32)
    classes = np.unique(labels)
    for cls in classes:
        mask = labels == cls
        weights[mask] = weight * len(labels) / (len(classes) * mask.sum())
    return weights


def trained_text(model: object) -> dict | None:
    """The :func:`text_summary` a saved classifier recorded (None for models saved before it)."""
    return getattr(model, "text_", None) or getattr(model, "text", None)


def default_text(model: object, text: str | None) -> str:
    """The ``--text`` to read inputs for ``model`` with: ``text`` if given, else what it was trained on."""
    if text:
        return text
    summary = trained_text(model)
    return summary.get("default", "auto") if isinstance(summary, dict) else "auto"


def check_model_text(model: object, columns: list[str], text: str | None, path: str | Path) -> str:
    """The text choice for a file given to ``model``, or a one-line error when the file lacks it.

    A model trained on claims only, given a file with abstracts but no claims (and no ``--text``),
    is refused: its figures say nothing about abstracts. ``--text abstract`` overrides.
    """
    choice = default_text(model, text)
    if text is None and choice == "claims" and not set(columns) & {"claims", "text"}:
        raise PatentlabError(
            "the model was trained on claims and the file has no claims "
            f"(columns: {', '.join(columns)}); pass --text abstract to classify abstracts anyway",
            path=path,
            field="claims",
        )
    check_text_columns(columns, choice, path)
    return choice


def without_texts(data: LabeledTexts, texts: list[str]) -> tuple[LabeledTexts, int]:
    """``data`` without the examples whose text (case and spacing ignored) is among ``texts``.

    Keeps an evaluation set such as ``hitl_gold_100.csv`` out of training when the same claims
    also sit in a bundled labelled source. Returns the rest and how many were dropped.
    """

    def norm(t: str) -> str:
        return " ".join(t.lower().split())

    held = {norm(t) for t in texts}
    keep = np.array([norm(t) not in held for t in data.texts], dtype=bool)
    return data.subset(np.flatnonzero(keep)), int((~keep).sum())


def capped_subset(data: LabeledTexts, max_examples: int, seed: int = 42) -> LabeledTexts:
    """At most ``max_examples`` examples for a short fine-tune, class-weighted, minority kept first.

    Every example of the scarce class is kept (up to half the cap), the other class fills the
    rest at random, and the loss weights give both classes the same total (:func:`class_weights`).
    """
    rng = np.random.default_rng(seed)
    counts = np.bincount(data.labels, minlength=2)
    scarce = int(counts.argmin())
    take_scarce = int(min(counts[scarce], max_examples // 2))
    take_other = int(min(counts[1 - scarce], max_examples - take_scarce))
    idx = np.concatenate(
        [
            rng.permutation(np.flatnonzero(data.labels == scarce))[:take_scarce],
            rng.permutation(np.flatnonzero(data.labels == 1 - scarce))[:take_other],
        ]
    )
    subset = data.subset(np.sort(idx))
    subset.weights = class_weights(subset.labels)
    return subset
