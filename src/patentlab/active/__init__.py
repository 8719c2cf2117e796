"""Active learning: query strategies over class probabilities and the bookkeeping of rounds."""

from patentlab.active.queue import load_pool, select_round
from patentlab.active.rounds import RoundLedger
from patentlab.active.strategies import (
    STRATEGIES,
    Selection,
    diverse_batch,
    entropy,
    margin,
    redundancy,
    select,
    uncertainty,
)

__all__ = [
    "STRATEGIES",
    "RoundLedger",
    "Selection",
    "diverse_batch",
    "entropy",
    "load_pool",
    "margin",
    "redundancy",
    "select",
    "select_round",
    "uncertainty",
]
