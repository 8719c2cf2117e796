"""Reference-free quality figures of a batch of patents, generated or real, side by side.

None of these needs a human label, so they can be computed the same way for real patents (the
yardstick) and for every generation strategy:

- :func:`repetition`: the share of repeated 1- to 4-grams inside sliding windows of words. A
  model in a loop ("substrate substrate substrate") scores high; real patents repeat their terms
  too, which is why the real figure is printed beside it;
- :class:`NgramProfile`: how close a text's word 2-3-grams come to the patent language of real
  patents (the cosine between the text's counts and the real corpus's, over the real corpus's most
  frequent n-grams);
- :func:`coherence_means`: the mean title ↔ abstract ↔ claim-1 cosines
  (:class:`~patentlab.vet.coherence.SectionCoherence`).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from patentlab.claims import words

#: Words per window of :func:`repetition`, and the n-gram sizes it counts.
WINDOW = 50
NGRAMS = (1, 2, 3, 4)
#: The real corpus's most frequent word 2-3-grams that make up the patent-language profile.
PROFILE_SIZE = 2000


def repetition(text: str, *, window: int = WINDOW, sizes: Sequence[int] = NGRAMS) -> float:
    """The mean share of n-grams that repeat an earlier one within the same window of words.

    Windows of ``window`` words overlap by half; each n in ``sizes`` is counted in every window
    and the shares are averaged. 0.0 for a text with no repeated n-gram in any window.
    """
    tokens = words(text)
    if not tokens:
        return 0.0
    starts = range(0, max(1, len(tokens) - window // 2), max(1, window // 2))
    shares = []
    for start in starts:
        chunk = tokens[start : start + window]
        for n in sizes:
            grams = [tuple(chunk[i : i + n]) for i in range(len(chunk) - n + 1)]
            if grams:
                shares.append(1.0 - len(set(grams)) / len(grams))
    return float(np.mean(shares)) if shares else 0.0


@dataclass
class NgramProfile:
    """The word 2-3-gram profile of real patents, and each text's cosine to it.

    Example:
        >>> profile = NgramProfile().fit(real_texts)
        >>> profile.similarity(["A lamp comprising a base …"])   # one cosine per text
    """

    size: int = PROFILE_SIZE
    vocabulary_: dict[tuple[str, ...], int] = field(default_factory=dict, repr=False)
    centroid_: np.ndarray | None = field(default=None, repr=False)

    @staticmethod
    def _grams(text: str) -> Counter:
        # Word pairs and triples: the phrasing ("a plurality of", "is configured to"), which
        # single words (the topic) would drown out.
        tokens = words(text)
        return Counter(
            list(itertools.pairwise(tokens)) + list(zip(tokens, tokens[1:], tokens[2:], strict=False))
        )

    def fit(self, texts: Sequence[str]) -> NgramProfile:
        total: Counter = Counter()
        for text in texts:
            total.update(self._grams(text))
        common = [gram for gram, _ in total.most_common(self.size)]
        self.vocabulary_ = {gram: i for i, gram in enumerate(common)}
        self.centroid_ = self._unit(np.array([total[g] for g in common], dtype=float))
        return self

    @staticmethod
    def _unit(vector: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        """The cosine of each text's counts over the profile's n-grams to the real centroid."""
        if self.centroid_ is None:
            raise ValueError("fit the profile on real patents first")
        out = np.zeros(len(texts))
        for row, text in enumerate(texts):
            vector = np.zeros(len(self.vocabulary_))
            for gram, count in self._grams(text).items():
                if gram in self.vocabulary_:
                    vector[self.vocabulary_[gram]] = count
            out[row] = float(self._unit(vector) @ self.centroid_)
        return out


def coherence_means(rows: Sequence[dict[str, Any] | None]) -> dict[str, float | None]:
    """The mean of each section cosine over ``rows`` (``{"title_abstract": …, …}`` or None)."""
    keys = ("title_abstract", "title_claim1", "abstract_claim1")
    found = [r for r in rows if r]
    return {k: (round(float(np.mean([r[k] for r in found if r.get(k) is not None])), 3) if found else None)
            for k in keys}  # fmt: skip


__all__ = ["NgramProfile", "coherence_means", "repetition"]
