"""The dataset card of a split: counts, Y02 categories, dates and text lengths, as JSON and Markdown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from patentlab.corpus.schema import Y02_CATEGORIES
from patentlab.storage import write_json, write_text

if TYPE_CHECKING:
    from patentlab.corpus.split import SplitPlan

CARD_JSON = "dataset_card.json"
CARD_MD = "dataset_card.md"
PERCENTILES = (5, 25, 50, 75, 95, 99)
#: Counts word and punctuation tokens: close to a WordPiece count for English claim text, and
#: needs no model. The share over 384 tokens shows how much the classifier will truncate.
TOKEN_PATTERN = r"\w+|[^\w\s]"
MAX_LENGTH = 384


def token_lengths(text: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Number of word/punctuation tokens in each text."""
    counts = pc.count_substring_regex(pc.fill_null(text, ""), TOKEN_PATTERN)
    return np.asarray(counts.to_numpy(zero_copy_only=False), dtype=np.int64)


def _split_stats(table: pa.Table) -> dict[str, Any]:
    labels = table["is_green_silver"].to_numpy(zero_copy_only=False)
    y02 = table["y02"].to_pylist()
    lengths = token_lengths(table["text"])
    dates = [d for d in table["date"].to_pylist() if d is not None]
    from patentlab.corpus.split import text_kind_array

    kinds = pc.value_counts(text_kind_array(table)).to_pylist() if table.num_rows else []
    counts = {r["values"]: r["counts"] for r in kinds}
    return {
        "rows": table.num_rows,
        "green": int((labels == 1).sum()),
        "not_green": int((labels == 0).sum()),
        "text_from": {k: counts.get(k, 0) for k in ("claims", "abstract", "title")},
        "y02": {c: sum(c in row for row in y02) for c in Y02_CATEGORIES},
        "date_min": min(dates).isoformat() if dates else None,
        "date_max": max(dates).isoformat() if dates else None,
        "tokens": {
            **{f"p{p}": int(np.percentile(lengths, p)) if len(lengths) else 0 for p in PERCENTILES},
            "max": int(lengths.max()) if len(lengths) else 0,
            f"share_over_{MAX_LENGTH}": round(float((lengths > MAX_LENGTH).mean()), 4)
            if len(lengths)
            else 0.0,
        },
        "doc_types": dict(
            sorted((r["values"], r["counts"]) for r in pc.value_counts(table["doc_type"]).to_pylist())
        ),
    }


def build_card(
    tables: Mapping[str, pa.Table], *, corpus: str, seed: int, plan: SplitPlan, dedup: Mapping[str, int]
) -> dict[str, Any]:
    """Describe the splits in ``tables`` as a JSON-ready dict."""
    splits = {name: _split_stats(table) for name, table in tables.items()}
    train = splits.get("train_silver", {})
    green, not_green = train.get("green", 0), train.get("not_green", 0)
    weights = None
    if green and not_green:  # what --balance weight asks of the classifier: equal class totals
        total = green + not_green
        weights = {"green": round(total / (2 * green), 4), "not_green": round(total / (2 * not_green), 4)}
    return {
        "name": "patentlab green-patent splits",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "corpus": corpus,
        "seed": seed,
        "label": "is_green_silver: 1 when the patent has any CPC Y02 code (silver label)",
        "text": "claim 1, else the abstract, else the title (column 'text')",
        "n_per_class": plan.n_per_class,
        "balance": {"policy": plan.policy, "reason": plan.reason, "train_class_weights": weights},
        "sizes": {name: table.num_rows for name, table in tables.items()},
        "messages": plan.messages,
        "deduplication": dict(dedup),
        "token_counter": f"regex {TOKEN_PATTERN}",
        "splits": splits,
    }


def card_rows(card: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The card as a table with one row per measure and one column per split.

    Shared by the Markdown card and the terminal table; measures run down the page so the table
    stays narrow however many Y02 categories there are.
    """
    splits = card["splits"]
    header = ["", *splits]

    def row(label: str, get: Callable[[dict], object]) -> list[str]:
        return [label, *(str(get(s)) for s in splits.values())]

    rows = [
        row("rows", lambda s: f"{s['rows']:,}"),
        row("green", lambda s: f"{s['green']:,}"),
        row("not green", lambda s: f"{s['not_green']:,}"),
        *(row(f"  {c}", lambda s, c=c: s["y02"][c]) for c in Y02_CATEGORIES),
        *(
            row(f"text from {k}", lambda s, k=k: f"{s.get('text_from', {}).get(k, 0):,}")
            for k in ("claims", "abstract", "title")
        ),
        row("first date", lambda s: s["date_min"]),
        row("last date", lambda s: s["date_max"]),
        *(row(f"tokens p{p}", lambda s, p=p: s["tokens"][f"p{p}"]) for p in (5, 50, 95)),
        row(f"over {MAX_LENGTH} tokens", lambda s: f"{s['tokens'][f'share_over_{MAX_LENGTH}']:.1%}"),
    ]
    return header, rows


def card_markdown(card: Mapping[str, Any]) -> str:
    """Render the card as Markdown."""
    header, rows = card_rows(card)
    lines = [
        f"# {card['name']}",
        "",
        f"- corpus: `{card['corpus']}`",
        f"- seed: {card['seed']}; balance policy: {_balance(card)}",
        f"- label: {card['label']}",
        f"- text: {card['text']}; token counts by {card['token_counter']}",
        *(f"- note: {m}" for m in card["messages"]),
        "- de-duplication: "
        + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in card["deduplication"].items()),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        "Token percentiles per split: "
        + "; ".join(
            f"{name} " + ", ".join(f"{k} {v}" for k, v in s["tokens"].items())
            for name, s in card["splits"].items()
        ),
        "",
    ]
    return "\n".join(lines)


def _balance(card: Mapping[str, Any]) -> str:
    balance = card.get("balance") or {"policy": "balanced", "reason": ""}
    weights = balance.get("train_class_weights")
    text = balance.get("reason") or balance["policy"]
    if balance["policy"] == "weight" and weights:
        text += f" (loss weights: green x{weights['green']:g}, non-green x{weights['not_green']:g})"
    return text


def write_card(card: Mapping[str, Any], out_dir: str | Path) -> None:
    """Write ``dataset_card.json`` and ``dataset_card.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    write_json(out_dir / CARD_JSON, card)
    write_text(out_dir / CARD_MD, card_markdown(card))
