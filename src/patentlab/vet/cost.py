"""What generating and vetting a batch cost: seconds, tokens and dollars per invention.

CPU time is the process's own (``time.process_time``) plus that of finished child processes
(``resource.getrusage(RUSAGE_CHILDREN)``); on several cores it can exceed wall time, which is
why dollars are charged per *CPU*-hour (one core for one hour, the unit cloud vCPU prices use).
A GPU is charged per wall-clock hour of the work that ran on it.
"""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass
class Stopwatch:
    """Wall and CPU seconds of a block: ``with Stopwatch() as sw: …; sw.wall, sw.cpu``."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall0, self._cpu0 = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._wall0
        self.cpu += cpu_seconds() - self._cpu0


@dataclass(frozen=True)
class Prices:
    """Dollar prices. The defaults are round figures for on-demand cloud capacity in 2025
    (about $0.05 per vCPU-hour, $2.50 per hour of one H100-class GPU); set your own."""

    usd_per_cpu_hour: float = 0.05
    usd_per_gpu_hour: float = 2.50


@dataclass
class StageCost:
    """One stage's resources: wall and CPU seconds, GPU seconds and tokens."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    gpu_seconds: float = 0.0
    tokens: int = 0

    def usd(self, prices: Prices) -> float:
        return (
            self.cpu_seconds / 3600 * prices.usd_per_cpu_hour
            + self.gpu_seconds / 3600 * prices.usd_per_gpu_hour
        )


def cost_summary(
    stages: dict[str, StageCost], n_generated: int, n_accepted: int, prices: Prices
) -> dict[str, object]:
    """Totals and per-invention figures (per generated and per accepted invention).

    Per-accepted figures are None when nothing was accepted: the cost of an obvious invention is
    then unbounded, and a report should say so rather than divide by zero.
    """
    total = StageCost(
        wall_seconds=sum(s.wall_seconds for s in stages.values()),
        cpu_seconds=sum(s.cpu_seconds for s in stages.values()),
        gpu_seconds=sum(s.gpu_seconds for s in stages.values()),
        tokens=sum(s.tokens for s in stages.values()),
    )
    usd = total.usd(prices)
    # What one invention costs; gpu_seconds are already in the dollars.
    shared = {
        "wall_seconds": total.wall_seconds,
        "cpu_seconds": total.cpu_seconds,
        "tokens": total.tokens,
        "usd": usd,
    }

    def per(n: int) -> dict[str, float | None]:
        return {key: round(value / n, 6) if n else None for key, value in shared.items()}

    return {
        "prices": asdict(prices),
        "stages": {name: {**asdict(s), "usd": round(s.usd(prices), 8)} for name, s in stages.items()},
        "total": {**asdict(total), "usd": round(usd, 8)},
        "per_generated": per(n_generated),
        "per_accepted": per(n_accepted),
    }
