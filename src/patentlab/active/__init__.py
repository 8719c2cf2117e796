"""Active learning: query strategies over class probabilities and the bookkeeping of rounds.

Names are imported lazily, so that ``patentlab --help`` does not import pandas or scikit-learn.
"""

from __future__ import annotations

from patentlab._lazy import lazy_exports

_EXPORTS = {
    "load_pool": "patentlab.active.queue",
    "select_round": "patentlab.active.queue",
    "RoundLedger": "patentlab.active.rounds",
    **{
        name: "patentlab.active.strategies"
        for name in (
            "REGISTRY",
            "STRATEGIES",
            "ConfidenceStrategy",
            "EmbeddingStrategy",
            "QueryStrategy",
            "Selection",
            "diverse_batch",
            "entropy",
            "margin",
            "redundancy",
            "register",
            "select",
            "uncertainty",
        )
    },
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
