"""How different the inventions of one batch are from each other.

* **distinct-2**: distinct word bigrams over all bigrams of the batch;
* **self-BLEU**: the mean BLEU-4 of each text against all the others as references (lower is
  more diverse), with add-one smoothing of the higher orders so short texts do not score zero;
* **mean pairwise embedding distance**: the mean of ``1 - cosine`` over all pairs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
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
    log_precision = 0.0
    for n in range(1, max_n + 1):
        counts = Counter(ngrams(hypothesis, n))
        total = sum(counts.values())
        max_ref: Counter = Counter()
        for ref in references:
            for gram, c in Counter(ngrams(ref, n)).items():
                max_ref[gram] = max(max_ref[gram], c)
        clipped = sum(min(c, max_ref[g]) for g, c in counts.items())
        if n == 1 and clipped == 0:
            return 0.0
        # Add-one smoothing for n > 1 (Lin & Och 2004), so one missing 4-gram does not zero it.
        smooth = 0 if n == 1 else 1
        log_precision += math.log((clipped + smooth) / (total + smooth)) if total + smooth else 0.0
    closest = min((len(r) for r in references), key=lambda length: (abs(length - len(hypothesis)), length))
    brevity = 1.0 if len(hypothesis) > closest else math.exp(1 - closest / len(hypothesis))
    return brevity * math.exp(log_precision / max_n)


def self_bleu(texts: Sequence[str], max_n: int = 4) -> float | None:
    """Mean BLEU of each text against the rest of the batch (None for fewer than two texts)."""
    tokens = [words(t) for t in texts]
    if len(tokens) < 2:
        return None
    scores = [bleu(tokens[i], tokens[:i] + tokens[i + 1 :], max_n) for i in range(len(tokens))]
    return float(np.mean(scores))


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
