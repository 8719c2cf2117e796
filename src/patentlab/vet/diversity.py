"""How different the inventions of one batch are from each other.

* **distinct-2**: distinct word bigrams over all bigrams of the batch;
* **self-BLEU**: the mean BLEU-4 of each text against all the others as references (lower is
  more diverse), with add-one smoothing of the higher orders so short texts do not score zero;
* **mean pairwise embedding distance**: the mean of ``1 - cosine`` over all pairs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from patentlab.vet.text import distinct_n, ngrams, words


@dataclass
class Diversity:
    """Diversity of a batch (None where the batch is too small to measure)."""

    n: int
    distinct_2: float | None
    self_bleu: float | None
    mean_pairwise_distance: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def bleu(hypothesis: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4) -> float:
    """Sentence BLEU of token lists: clipped n-gram precisions (n ≤ ``max_n``) and brevity penalty."""
    if not hypothesis or not references:
        return 0.0
    max_ref: list[Counter] = [Counter() for _ in range(max_n)]
    for ref in references:
        for order, counts in enumerate(_ngram_counts(ref, max_n)):
            for gram, c in counts.items():
                max_ref[order][gram] = max(max_ref[order][gram], c)
    return _bleu(
        _ngram_counts(hypothesis, max_n),
        lambda order, gram: max_ref[order][gram],
        len(hypothesis),
        [len(r) for r in references],
    )


def self_bleu(texts: Sequence[str], max_n: int = 4) -> float | None:
    """Mean BLEU of each text against the rest of the batch (None for fewer than two texts).

    Each text's n-grams are counted once. For every n-gram the batch keeps its two highest counts
    and which text holds the first, so clipping against "every text but this one" is a lookup and
    a batch costs O(n-grams) rather than O(texts² × n-grams).
    """
    tokens = [words(t) for t in texts]
    if len(tokens) < 2:
        return None
    counts = [_ngram_counts(t, max_n) for t in tokens]
    # order → gram → (highest count, the text that has it, second-highest count)
    top2: list[dict[tuple[str, ...], tuple[int, int, int]]] = [{} for _ in range(max_n)]
    for owner, per_order in enumerate(counts):
        for order, grams in enumerate(per_order):
            table = top2[order]
            for gram, c in grams.items():
                first, who, second = table.get(gram, (0, -1, 0))
                table[gram] = (c, owner, first) if c > first else (first, who, max(second, c))
    lengths = [len(t) for t in tokens]
    scores = []
    for i, hypothesis in enumerate(tokens):
        if not hypothesis:
            scores.append(0.0)
            continue

        def others(order: int, gram: tuple[str, ...], i: int = i) -> int:
            first, who, second = top2[order][gram]
            return second if who == i else first

        scores.append(_bleu(counts[i], others, lengths[i], lengths[:i] + lengths[i + 1 :]))
    return float(np.mean(scores))


def _ngram_counts(tokens: Sequence[str], max_n: int) -> list[Counter]:
    return [Counter(ngrams(tokens, n)) for n in range(1, max_n + 1)]


def _bleu(
    counts: list[Counter],
    max_ref_count: Callable[[int, tuple[str, ...]], int],
    length: int,
    ref_lengths: Sequence[int],
) -> float:
    """BLEU from the hypothesis' n-gram counts per order and the references' clipping counts."""
    log_precision = 0.0
    for order, grams in enumerate(counts):
        total = sum(grams.values())
        clipped = sum(min(c, max_ref_count(order, g)) for g, c in grams.items())
        if order == 0 and clipped == 0:
            return 0.0
        # Add-one smoothing for n > 1 (Lin & Och 2004), so one missing 4-gram does not zero it.
        smooth = 0 if order == 0 else 1
        log_precision += math.log((clipped + smooth) / (total + smooth)) if total + smooth else 0.0
    closest = min(ref_lengths, key=lambda ref: (abs(ref - length), ref))
    brevity = 1.0 if length > closest else math.exp(1 - closest / length)
    return brevity * math.exp(log_precision / len(counts))


def mean_pairwise_distance(vectors: np.ndarray) -> float | None:
    """Mean ``1 - cosine`` over all distinct pairs of rows (None for fewer than two rows)."""
    n = len(vectors)
    if n < 2:
        return None
    unit = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    sims = unit @ unit.T
    off_diagonal = (sims.sum() - np.trace(sims)) / (n * (n - 1))
    return float(1.0 - off_diagonal)


def batch_diversity(texts: Sequence[str], vectors: np.ndarray | None = None) -> Diversity:
    """All three measures for one batch; pass ``vectors`` (one row per text) for the distance."""
    return Diversity(
        n=len(texts),
        distinct_2=round(distinct_n([words(t) for t in texts], 2), 4) if texts else None,
        self_bleu=None if (s := self_bleu(texts)) is None else round(s, 4),
        mean_pairwise_distance=None
        if vectors is None or (d := mean_pairwise_distance(vectors)) is None
        else round(d, 4),
    )
