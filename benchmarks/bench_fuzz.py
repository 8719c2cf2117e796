"""A bounded fuzz run over every parser of outside input (issue 9); the target is 0 crashes.

Feeds each target of ``tests/fuzz_harness.py`` (corpus CSV / JSON Lines / Parquet, USPTO XML,
generated markdown, LLM JSON replies) up to ``--examples`` hypothesis-generated inputs or
``--seconds`` seconds, whichever comes first (checked between chunks of 200). A *crash* is any
exception other than ``PatentlabError``, or a broken round trip; each is counted and the first
one per parser is printed with its input, so it can become a regression test. Writes the
counts into BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_fuzz.py                      # about 6 x 60 s
    .venv/bin/python benchmarks/bench_fuzz.py --seconds 10 --examples 500
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The fuzz targets are a test harness, not library code: they live beside the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _report import load_average, machine, now, update_section


def fuzz(target, strategy, examples: int, seconds: float, seed: int, chunk: int = 200) -> dict:
    """Run ``target`` on up to ``examples`` inputs within ``seconds``; count inputs and crashes.

    Hypothesis runs in chunks of ``chunk`` examples, each with its own seed, so that the time
    bound stops generation itself, not only the calls.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hyp_seed

    counts = {"tried": 0, "crashes": 0, "first": None}

    def body(value) -> None:
        counts["tried"] += 1
        try:
            target(value)
        except Exception as exc:  # a crash: record it and keep fuzzing
            counts["crashes"] += 1
            if counts["first"] is None:
                counts["first"] = f"{type(exc).__name__}: {exc}\ninput: {value!r}"[:2000]
                counts["trace"] = traceback.format_exc()[-1500:]

    start = time.perf_counter()
    k = 0
    while counts["tried"] < examples and time.perf_counter() - start < seconds:
        run = settings(
            max_examples=min(chunk, examples - counts["tried"]),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(strategy)(body))
        hyp_seed(seed * 1_000_003 + k)(run)()
        k += 1
    counts["seconds"] = time.perf_counter() - start
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=20_000, help="Inputs per parser at most.")
    parser.add_argument("--seconds", type=float, default=60.0, help="Seconds per parser at most.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    from fuzz_harness import TARGETS, strategies

    strats = strategies()
    print(f"fuzzing {len(TARGETS)} parsers, up to {args.examples:,} inputs or {args.seconds:.0f} s each "
          f"(about {len(TARGETS) * args.seconds / 60:.0f} min)", flush=True)  # fmt: skip
    load_before = load_average()
    rows = []
    for name, target in TARGETS.items():
        result = fuzz(target, strats[name], args.examples, args.seconds, args.seed)
        rate = result["tried"] / result["seconds"] if result["seconds"] else 0.0
        print(
            f"{name:10s} {result['tried']:7,d} inputs  {result['crashes']} crashes  {rate:7.0f}/s", flush=True
        )
        if result["first"]:
            print(f"  first crash: {result['first']}\n{result['trace']}", flush=True)
        rows.append((name, result["tried"], result["crashes"], rate))
    load_after = load_average()
    total, crashes = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"total: {total:,} inputs, {crashes} crashes")
    if args.no_write:
        return
    table = "\n".join(f"| {n} | {t:,} | {c} | {r:,.0f} |" for n, t, c, r in rows)
    md = f"""## Fuzzing the parsers (issue 9)

`.venv/bin/python benchmarks/bench_fuzz.py --examples {args.examples} --seconds {args.seconds:g} \
--seed {args.seed}` on {machine()}, {now()}; 1-minute load average {load_before:.1f} before,
{load_after:.1f} after (the CPU was shared).

Each parser got hypothesis-generated inputs (strategies in `tests/fuzz_harness.py`) until
the count or the time ran out. A crash is any exception other than `PatentlabError`, or a
broken round trip (patent markdown written by `format_patent` and read back by `parse_patent`;
a valid verdict wrapped in prose or a code fence and read back by `parse_reply`). The first
run found one crash, since fixed: a CSV with a bare carriage return in its header line raised
`_csv.Error` (see docs/scale.md).

| parser | inputs tried | crashes | inputs/s |
|---|---:|---:|---:|
{table}
| **all** | **{total:,}** | **{crashes}** | |
"""
    update_section("fuzz", md)
    print("wrote the 'fuzz' section of BENCHMARKS.md")


if __name__ == "__main__":
    main()
