"""Do the title, the abstract and claim 1 describe the same invention? Embedding coherence.

A small generator can write a fluent title about a lens, an abstract about a pump and a claim
about a garment. The check embeds the three sections with the embed step's encoder (MiniLM by
default, cached on disk) and compares each pair by cosine: title ↔ abstract, title ↔ claim 1,
abstract ↔ claim 1. A pair below its threshold fails the ``coherence`` reason code.

The thresholds are low percentiles of the same cosines on real granted patents
(:func:`calibrate`), so almost every real patent passes; ``docs/vet.md`` has the figures. It
needs the encoder, so it is a separate, batched step of vetting, not part of the pure-text
:func:`patentlab.vet.checks.run_checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from patentlab.embed.encoder import unit_rows
from patentlab.generate.parse import ParsedPatent

#: The section pairs compared, as ``(name, first section, second section)``.
PAIRS: tuple[tuple[str, str, str], ...] = (
    ("title_abstract", "title", "abstract"),
    ("title_claim1", "title", "claim1"),
    ("abstract_claim1", "abstract", "claim1"),
)

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class CoherenceConfig:
    """Encoder and thresholds of the coherence check.

    The defaults are the 1st percentiles of each pair's cosine over the 334 bundled real records
    with MiniLM at 256 tokens (``tests/test_vet_coherence.py`` recomputes them), rounded down to
    two decimals; another encoder needs its own :func:`calibrate` run.
    """

    encoder: str = "minilm"
    max_length: int = 256
    min_title_abstract: float = 0.18
    min_title_claim1: float = 0.19
    min_abstract_claim1: float = 0.36

    def threshold(self, pair: str) -> float:
        """The minimum cosine of ``pair`` (one of the names in :data:`PAIRS`)."""
        return float(getattr(self, f"min_{pair}"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sections(patent: ParsedPatent) -> dict[str, str] | None:
    if not (patent.title and patent.abstract and patent.claims):
        return None  # the sections check reports what is missing
    return {"title": patent.title, "abstract": patent.abstract, "claim1": patent.claims[0]}


class SectionCoherence:
    """Cosines between the sections of each patent, and the check on them.

    Args:
        config: encoder and thresholds.
        embed: a function from texts to vectors to use instead of loading ``config.encoder``
            (vetting passes the novelty index's, which already holds the same MiniLM).

    Example:
        >>> coherence = SectionCoherence()
        >>> coherence.cosines([parse_patent(text)])[0]
        {'title_abstract': 0.62, 'title_claim1': 0.58, 'abstract_claim1': 0.81}
    """

    def __init__(self, config: CoherenceConfig | None = None, embed: Embed | None = None) -> None:
        self.config = config or CoherenceConfig()
        self._embed = embed
        self._encoder: Any = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors of ``texts`` (through the embed step's on-disk cache)."""
        if self._embed is not None:
            return unit_rows(self._embed(list(texts)))
        if self._encoder is None:
            from patentlab.embed.encoder import Encoder

            self._encoder = Encoder(self.config.encoder, max_length=self.config.max_length)
        return unit_rows(self._encoder.encode(list(texts), show_progress=False))

    def cosines(self, patents: Sequence[ParsedPatent]) -> list[dict[str, float] | None]:
        """Each patent's pair cosines (None for a patent without all three sections), in one batch."""
        sections = [_sections(p) for p in patents]
        present = [s for s in sections if s is not None]
        if not present:
            return [None] * len(patents)
        names = ("title", "abstract", "claim1")
        vectors = self.embed([s[name] for s in present for name in names])
        vectors = vectors.reshape(len(present), len(names), -1)
        out: list[dict[str, float] | None] = []
        k = 0
        for s in sections:
            if s is None:
                out.append(None)
                continue
            v = dict(zip(names, vectors[k], strict=True))
            out.append({pair: round(float(v[a] @ v[b]), 4) for pair, a, b in PAIRS})
            k += 1
        return out

    def failure(self, cosines: dict[str, float] | None) -> str | None:
        """The failure detail for one patent's cosines, or None when every pair is above its threshold."""
        if cosines is None:
            return None
        low = [
            f"{pair.replace('_', ' ↔ ')} cosine {cosines[pair]:.2f} < {self.config.threshold(pair):.2f}"
            for pair, _, _ in PAIRS
            if cosines[pair] < self.config.threshold(pair)
        ]
        return "sections describe different things: " + "; ".join(low) if low else None

    def check(self, patents: Sequence[ParsedPatent]) -> list[tuple[str | None, dict[str, float] | None]]:
        """``(failure detail or None, cosines)`` for each patent, embedded in one batch."""
        return [(self.failure(c), c) for c in self.cosines(patents)]


def calibrate(
    patents: Sequence[ParsedPatent], percentile: float = 1.0, coherence: SectionCoherence | None = None
) -> dict[str, float]:
    """The ``percentile``-th percentile of each pair's cosine over ``patents`` (real ones).

    Thresholds set there let ``100 - percentile`` % of real patents pass each pair.
    """
    coherence = coherence or SectionCoherence()
    values = [c for c in coherence.cosines(patents) if c is not None]
    if not values:
        return {}
    return {pair: float(np.percentile([c[pair] for c in values], percentile)) for pair, _, _ in PAIRS}
