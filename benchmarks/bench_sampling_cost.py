"""CPU cost per generated token: dtype, batch size and threads of the torch sampler (issue 14).

The cost target of issue 14 is counted in CPU seconds per accepted invention, so what matters
is CPU time per token, not only tokens per second. Baseline: float32, batch 8, 2 threads (the
settings `vet sample` had before). Each row samples the same skeleton-guarded top-down patents
with the same seeds, back to back in one process.

    .venv/bin/python benchmarks/bench_sampling_cost.py --model runs/demo/generate/run/model
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import command_line, load_average, machine, now, update_section

#: (dtype, batch size, torch threads); the first row is the baseline.
SETTINGS = [("float32", 8, 2), ("float32", 32, 2), ("bfloat16", 32, 2), ("bfloat16", 32, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/demo/generate/run/model")
    parser.add_argument("--n", type=int, default=32, help="Patents per row.")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    import torch

    from patentlab.generate.sample import load_generator

    rows = []
    generators = {}
    for dtype, batch, threads in SETTINGS:
        torch.set_num_threads(threads)
        if dtype not in generators:
            generators[dtype] = load_generator(args.model, device="cpu", dtype=dtype)
        gen = generators[dtype]
        gen.sample("top-down", 2, max_new_tokens=8, seed=1, batch_size=2)  # warm-up
        wall, cpu = time.perf_counter(), time.process_time()
        out = gen.sample("top-down", args.n, max_new_tokens=args.max_new_tokens, seed=0, batch_size=batch)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        tokens = sum(g.new_tokens for g in out)
        rows.append((dtype, batch, threads, tokens, wall, cpu, load_average()))
        print(f"{dtype} batch {batch} threads {threads}: {tokens / wall:.1f} tokens/s, "
              f"{1000 * cpu / tokens:.1f} CPU-ms/token", flush=True)  # fmt: skip

    base = rows[0][5] / rows[0][3]
    command = command_line()
    lines = [
        "## Sampling cost per token: dtype, batch and threads (issue 14)",
        "",
        f"{command} on {machine()}, {now()}. Model `{args.model}`; {args.n} top-down patents per row,",
        f"at most {args.max_new_tokens} new tokens, skeleton and repetition guard on (the defaults), seed 0.",
        "CPU time is the process's own (`time.process_time`), which is what `vet run` charges.",
        "",
        "| dtype | batch | threads | tokens | tokens/s | CPU ms / token | vs baseline | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (dtype, batch, threads, tokens, wall, cpu, load) in enumerate(rows):
        per = cpu / tokens
        label = "baseline" if i == 0 else f"{base / per:.2f}× less CPU"
        lines.append(
            f"| {dtype} | {batch} | {threads} | {tokens} | {tokens / wall:.1f} | {1000 * per:.1f} | {label} "
            f"| {load:.1f} |"
        )
    md = "\n".join(lines) + "\n"
    print(md)
    if not args.no_write:
        update_section("sampling-cost", md)


if __name__ == "__main__":
    main()
