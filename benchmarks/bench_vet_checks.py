"""How many real patents pass each vetting check, coherence included (issue 14, item 5).

Runs every structural check (``patentlab.vet.checks``) and the section coherence check
(``patentlab.vet.coherence``, MiniLM) over the bundled real records (``full_records_334.jsonl``
plus the PatentsView grants, one per id), and reports the share passing each check, all of them,
and the granted ones on their own. As a negative control it also reports how many "patents"
stitched from three different real patents (title of one, abstract of the next, claims of the
one after) the coherence check rejects, and the CPU time of the structural checks.

    .venv/bin/python benchmarks/bench_vet_checks.py [--no-write]
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import command_line, load_average, machine, now, update_section


def real_records() -> list[dict]:
    from patentlab.data import sample_path
    from patentlab.generate.data import iter_full_records

    xml = sorted(glob.glob(str(sample_path("uspto_xml/patentsview")) + "/*.xml"))
    by_id: dict[str, dict] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the XML files' sequence listings are skipped, and say so
        for r in iter_full_records([str(sample_path("full_records_334.jsonl")), *xml]):
            if r.get("title") and r.get("abstract") and r.get("claims"):
                by_id.setdefault(r["id"], r)
    return list(by_id.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    from patentlab.generate.parse import parse_patent
    from patentlab.vet.checks import CHECK_CODES, parse_record, run_checks
    from patentlab.vet.coherence import SectionCoherence

    records = real_records()
    parsed = [parse_record(r) for r in records]
    t0 = time.process_time()
    results = [run_checks(p) for p in parsed]
    cpu_ms = (time.process_time() - t0) / len(parsed) * 1000
    coherence = SectionCoherence()
    t0 = time.perf_counter()
    coh = coherence.check(parsed)
    coh_s = time.perf_counter() - t0
    failures = [
        {**res.failures, **({"coherence": c} if c else {})} for res, (c, _) in zip(results, coh, strict=True)
    ]
    granted = [i for i, r in enumerate(records) if r.get("doc_type") == "granted"]

    def share(ids, code=None) -> float:
        ok = [not failures[i] if code is None else code not in failures[i] for i in ids]
        return sum(ok) / len(ok)

    everyone = range(len(records))
    codes = [*CHECK_CODES, "coherence"]
    n = len(records)
    stitched = [
        parse_patent(
            f"# Patent\n\n## Title\n{parsed[i].title}\n\n"
            f"## Abstract\n{parsed[(i + 1) % n].abstract}\n\n## Claims\n"
            + "\n".join(f"{k}. {c}" for k, c in enumerate(parsed[(i + 2) % n].claims, 1)),
            finished=True,
        )
        for i in everyone
    ]
    stitched_rejected = sum(d is not None for d, _ in coherence.check(stitched)) / n
    structural = sum(not res.failures for res in results) / n
    lines = [
        "## Vetting checks on real patents (issue 14)",
        "",
        command_line()
        + f" on {machine()}, {now()}; 1-minute load average {load_average():.1f} at the end (the",
        "machine was shared with other jobs: times are upper bounds).",
        "",
        f"{n} real records (`full_records_334.jsonl` and the bundled PatentsView grants, one per id), "
        f"{len(granted)} of them granted patents, read through the generator's markdown and parser. "
        f"**Every check, coherence included: {share(everyone):.1%} of all, {share(granted):.1%} of the "
        f"granted**; structural checks alone: {structural:.1%}.",
        "",
        "| check | real records passing | granted passing |",
        "|---|---:|---:|",
        *(f"| `{c}` | {share(everyone, c):.1%} | {share(granted, c):.1%} |" for c in codes),
        "",
        f'Negative control: {stitched_rejected:.1%} of {n} "patents" stitched from three different real '
        "patents (title of one, abstract of the next, claims of the one after) fail `coherence`.",
        f"Structural checks: {cpu_ms:.1f} CPU ms per patent; coherence: {coh_s:.1f} s wall for "
        f"{3 * n} sections (MiniLM, on-disk cache warm).",
    ]
    md = "\n".join(lines) + "\n"
    print(md)
    if not args.no_write:
        update_section("vet_checks", md)


if __name__ == "__main__":
    main()
