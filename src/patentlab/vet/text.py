"""Word tokens and n-gram statistics shared by the checks, novelty and diversity measures."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"\w+")


def words(text: str | None) -> list[str]:
    """Lower-cased word tokens (``\\w+``); punctuation and claim numbers' dots are dropped."""
    return _WORD.findall((text or "").lower())


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """The contiguous ``n``-grams of ``tokens`` (none when there are fewer than ``n`` tokens)."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(token_lists: Iterable[Sequence[str]], n: int) -> float:
    """Distinct ``n``-grams over all ``n``-grams, pooled over the lists (1.0 when there are none)."""
    grams: Counter[tuple[str, ...]] = Counter()
    for tokens in token_lists:
        grams.update(ngrams(tokens, n))
    total = sum(grams.values())
    return len(grams) / total if total else 1.0


def repeated_ngram_ratio(tokens: Sequence[str], n: int) -> float:
    """Share of ``n``-grams that already occurred earlier in the same text (0.0 when none).

    A model stuck in a loop drives this towards 1; ordinary claim language, which repeats short
    phrases ("the method of claim 1, wherein"), stays well below it for long enough ``n``.
    """
    grams = ngrams(tokens, n)
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)
