"""Labelled claims for training and evaluation: splits, gold files, or any CSV/Parquet/JSONL."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from patentlab.corpus.schema import Y02_CATEGORIES
from patentlab.errors import PatentlabError

#: Label columns, in the order they are looked for: silver splits, human gold, the hub layout.
LABEL_COLUMNS = ("is_green_silver", "is_green_human", "is_green", "label")
ID_COLUMNS = ("id", "doc_id", "patent_id")


@dataclass
class LabeledTexts:
    """Claim texts with 0/1 labels, ids, and the Y02 categories when the file has them."""

    texts: list[str]
    labels: np.ndarray
    ids: list[str]
    y02: np.ndarray | None = None  # (n, 8) multi-hot over Y02_CATEGORIES
    source: str = ""
    weights: np.ndarray = field(default=None)  # type: ignore[assignment]

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
        )


def _y02_or_unknown(data: LabeledTexts) -> np.ndarray:
    return data.y02 if data.y02 is not None else np.full((len(data), len(Y02_CATEGORIES)), -1, np.int8)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, Parquet or JSONL file into a DataFrame, with one-line errors for bad files."""
    path = Path(path)
    if not path.exists():
        raise PatentlabError("no such file", path=path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".json"):
            return pd.read_json(path, lines=True, dtype=False)
        if suffix in (".csv", ".tsv"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise PatentlabError(f"not valid UTF-8 (byte {exc.start})", path=path) from exc
    except (ValueError, OSError) as exc:
        raise PatentlabError(f"cannot read the file: {exc}", path=path) from exc
    raise PatentlabError(f"unsupported file type '{suffix}' (use .csv, .parquet or .jsonl)", path=path)


def id_column_of(columns: list[str]) -> str | None:
    """The column holding the patent id (``id``, ``doc_id`` or ``patent_id``), if any."""
    return next((c for c in ID_COLUMNS if c in columns), None)


def text_column_of(columns: list[str], text_column: str | None, path: str | Path) -> str:
    """The column holding the claim text: ``text_column``, else ``text``, else ``claims`` (claim 1)."""
    if text_column:
        if text_column not in columns:
            raise PatentlabError(f"no column '{text_column}'; columns are {', '.join(columns)}", path=path)
        return text_column
    for name in ("text", "claims"):
        if name in columns:
            return name
    raise PatentlabError(f"no 'text' or 'claims' column; columns are {', '.join(columns)}", path=path)


def claim_text(value: object) -> str:
    """Claim text from a string cell, or claim 1 from a list of claims."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) and isinstance(value[0], str):
        return value[0]
    return ""


def load_labeled(
    path: str | Path,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    prefer_human: bool = False,
) -> LabeledTexts:
    """Load labelled claims from a split, a gold file (``hitl_gold_100.csv``) or any table.

    The label is ``label_column`` or the first of ``is_green_silver``, ``is_green_human``,
    ``is_green``, ``label`` (``is_green_human`` first when ``prefer_human``); it must be 0 or 1 on
    every row. Rows with empty text are an error.
    """
    frame = read_table(path)
    columns = list(frame.columns)
    text_col = text_column_of(columns, text_column, path)
    order = sorted(LABEL_COLUMNS, key=lambda c: c != "is_green_human") if prefer_human else LABEL_COLUMNS
    label_col = label_column or next((c for c in order if c in columns), None)
    if label_col is None or label_col not in columns:
        raise PatentlabError(f"no label column (looked for {', '.join(LABEL_COLUMNS)})", path=path)
    texts = [claim_text(v) for v in frame[text_col]]
    labels = np.zeros(len(frame), dtype=np.int64)
    for i, (text, value) in enumerate(zip(texts, frame[label_col], strict=True)):
        if not text.strip():
            raise PatentlabError("empty claim text", path=path, row=i + 1, field=text_col)
        try:
            label = int(float(value))
        except (TypeError, ValueError):
            label = -1
        if label not in (0, 1):
            raise PatentlabError(
                f"label must be 0 or 1, not {value!r}", path=path, row=i + 1, field=label_col
            )
        labels[i] = label
    id_col = id_column_of(columns)
    ids = [str(v) for v in frame[id_col]] if id_col else [str(i) for i in range(len(frame))]
    y02 = None
    if "y02" in columns:
        y02 = np.array(
            [
                [int(c in set(cats if cats is not None else ())) for c in Y02_CATEGORIES]
                for cats in frame["y02"]
            ],
            dtype=np.int8,
        )
    elif all(c in columns for c in Y02_CATEGORIES):
        y02 = frame[list(Y02_CATEGORIES)].astype(int).to_numpy(dtype=np.int8)
    if len(frame) == 0:
        raise PatentlabError("the file holds no rows", path=path)
    return LabeledTexts(texts=texts, labels=labels, ids=ids, y02=y02, source=Path(path).name)


def load_gold(path: str | Path, weight: float = 5.0, *, balance: bool = False) -> LabeledTexts:
    """Human gold labels (``doc_id``, ``text``, ``is_green_human``), each weighted ``weight``.

    With ``balance=True`` the weights still average ``weight`` but both classes carry the same
    total (see :func:`class_balanced_weights`).
    """
    data = load_labeled(path, label_column=None, prefer_human=True)
    data.weights = gold_weights(data.labels, weight, balance=balance)
    data.y02 = None  # gold reviews the binary label only
    return data


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
