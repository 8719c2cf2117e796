"""Few-shot examples drawn from human gold labels, never the claim being labelled.

Small local models are near chance on hard claims; showing them a few human-labelled claims was
the one change that helped measurably (see ``docs/agents.md``). The examples are a fixed,
class-balanced draw from a gold file, so every prompt starts the same way (llama.cpp reuses the
cached prefix); a claim that is itself one of the examples gets the next one of the same label
in its place, so no claim is ever shown with its own answer.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from patentlab.errors import PatentlabError

#: Characters kept of each example claim: enough for the gist, short enough for a 2k context.
MAX_EXAMPLE_CHARS = 600


@dataclass(frozen=True)
class Example:
    """One human-labelled claim shown to the agents."""

    id: str
    text: str
    label: int


def load_gold_examples(path: str | Path | None = None) -> list[Example]:
    """Human-labelled claims from a gold table (default: the bundled ``hitl_gold_100.csv``).

    The table needs ``doc_id`` (or ``id``), ``text`` and ``is_green_human`` (0/1): the columns of
    the review step's gold export. CSV, JSON Lines and Parquet are read.
    """
    from patentlab.data import sample_path
    from patentlab.tables import read_table

    source = Path(path) if path is not None else sample_path("hitl_gold_100.csv")
    frame = read_table(source)
    id_column = "doc_id" if "doc_id" in frame.columns else "id"
    for column in (id_column, "text", "is_green_human"):
        if column not in frame.columns:
            raise PatentlabError(f"the gold file has no '{column}' column", path=source)
    examples = []
    for row, (claim_id, text, label) in enumerate(
        zip(frame[id_column], frame["text"], frame["is_green_human"], strict=True), 2
    ):
        if str(label).strip() not in ("0", "1", "0.0", "1.0"):
            raise PatentlabError("must be 0 or 1", path=source, row=row, field="is_green_human")
        examples.append(Example(str(claim_id), str(text), int(float(label))))
    return examples


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


class FewShot:
    """``n`` class-balanced examples for each claim, leaving the claim itself out.

    Args:
        examples: the human-labelled pool (see :func:`load_gold_examples`).
        n: examples per prompt; half green (rounded down), half not green, alternating.
        seed: the draw's seed.
        max_chars: each example's text is cut to this many characters.
    """

    def __init__(
        self, examples: Sequence[Example], n: int, *, seed: int = 0, max_chars: int = MAX_EXAMPLE_CHARS
    ) -> None:
        if n < 1:
            raise PatentlabError(f"few-shot needs at least one example, not {n}")
        rng = random.Random(seed)
        self.n, self.seed, self.max_chars = n, seed, max_chars
        self._by_label: dict[int, list[Example]] = {}
        for label in (1, 0):
            pool = [e for e in examples if e.label == label]
            rng.shuffle(pool)
            self._by_label[label] = pool
        self._wanted = {1: n // 2, 0: n - n // 2}
        for label, wanted in self._wanted.items():
            # One spare per class, so leaving a claim out never leaves a prompt short.
            if len(self._by_label[label]) < wanted + 1:
                raise PatentlabError(
                    f"{n} few-shot examples need {wanted + 1} gold claims labelled {label}, "
                    f"not {len(self._by_label[label])}"
                )

    def for_claim(self, claim_id: str, text: str) -> list[Example]:
        """The examples to show with this claim: never the claim itself (same id or same text)."""
        key = _key(text)
        chosen = {}
        for label, wanted in self._wanted.items():
            pool = [e for e in self._by_label[label] if e.id != claim_id and _key(e.text) != key]
            chosen[label] = [self._cut(e) for e in pool[:wanted]]
        green, grey = chosen[1], chosen[0]
        # Alternate the labels, not-green first (there may be one more of those).
        order = [e for pair in zip(grey, green, strict=False) for e in pair]
        return order + grey[len(green) :]

    def _cut(self, example: Example) -> Example:
        if len(example.text) <= self.max_chars:
            return example
        head = example.text[: self.max_chars].rsplit(" ", 1)[0]
        return Example(example.id, f"{head} …", example.label)

    def describe(self) -> dict:
        """Settings for run summaries (a resumed run must use the same)."""
        return {"n": self.n, "seed": self.seed, "max_chars": self.max_chars}
