"""The realism share of real text: real abstracts scored in the generations' place (issue 22).

A realism share is the share of a batch's inventions that a real-vs-generated classifier takes
for real. This measures what a writer indistinguishable from real patents would score: batches of
``--n`` real abstracts of one CPC subclass posing as the generations, against up to 400 others of
the same subclass, with vetting's own procedure (:func:`patentlab.vet.realism.realism_control`).

    .venv/bin/python benchmarks/bench_realism_control.py --n 16 --draws 10
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import command_line, load_average, machine, now, update_section

SUBCLASSES = ("H01L", "G06F", "H04L", "A61B", "H01M")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="Real abstracts per stand-in batch.")
    parser.add_argument("--draws", type=int, default=10, help="Stand-in batches per subclass.")
    parser.add_argument("--subclasses", nargs="+", default=list(SUBCLASSES))
    parser.add_argument("--no-write", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    from patentlab.data import sample_path
    from patentlab.vet.realism import realism_control

    with gzip.open(sample_path("uspto_abstracts_cpc_10k.csv.gz"), "rt", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["abstract"].strip()]
    command = command_line()
    lines = [
        "## Realism share of real text: real abstracts in the generations' place (issue 22)",
        "",
        f"{command} on {machine()}, {now()}.",
        "",
        f"Each of {args.draws} batches: {args.n} real abstracts of one CPC subclass (bundled "
        "`uspto_abstracts_cpc_10k`) pose as a batch of generations, against up to 400 other abstracts "
        "of the subclass, with vetting's procedure (`realism_control`: 5-fold out-of-fold P(real), "
        "balanced bags, cut to one length). The share is of the stand-ins with P(real) ≥ 0.5: what a "
        "writer indistinguishable from real patents scores.",
        "",
        "| subclass | abstracts | mean realism share | lowest / highest batch | mean AUC | seconds |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for subclass in args.subclasses:
        field = [r for r in rows if any(c.strip().startswith(subclass) for c in r["cpc"].split(";"))]
        texts, ids = [r["abstract"] for r in field], [r["patent_id"] for r in field]
        start = time.perf_counter()
        control = realism_control(texts, ids, n=args.n, draws=args.draws)
        seconds = time.perf_counter() - start
        if control is None:
            lines.append(f"| {subclass} | {len(texts)} | too few abstracts | | | |")
            continue
        lines.append(
            f"| {subclass} | {len(texts):,} | {control['share']:.0%} | {control['low']:.0%} / "
            f"{control['high']:.0%} | {control['auc']:.2f} | {seconds:.1f} |"
        )
        print(lines[-1], flush=True)
    lines += ["", f"1-minute load average {load_average():.1f} at the end."]
    md = "\n".join(lines) + "\n"
    print(md)
    if not args.no_write:
        update_section("realism_control", md)


if __name__ == "__main__":
    main()
