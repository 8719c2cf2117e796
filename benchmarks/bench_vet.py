"""Hit rate and cost per accepted invention of a generator on this machine (issue 7).

Samples a metered batch, vets it (checks, novelty against the training data, diversity), and
writes the hit rate, the funnel and the cost per generated and per accepted invention into
BENCHMARKS.md. In the same run it times the novelty index's longest-common-run search against
the obvious baseline, ``difflib.SequenceMatcher.find_longest_match`` against every training
document, and checks that both find the same run lengths. It also reports the pass rate of the
structural checks on the bundled real patents.

    .venv/bin/python benchmarks/bench_vet.py --model runs/demo/generate/run/model --engine llama-cpp \
        --n 24 --modes top-down bottom-up --classifier runs/demo/classify/baseline

It prints an estimate of how long it will take before it starts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from difflib import SequenceMatcher
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import load_average, machine, now, update_section


def real_pass_rate() -> tuple[float, int, dict[str, float]]:
    from patentlab.data import sample_path
    from patentlab.generate.data import iter_full_records
    from patentlab.vet.checks import CHECK_CODES, parse_record, run_checks

    records = [r for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])
               if r.get("title") and r.get("abstract") and r.get("claims")]  # fmt: skip
    results = [run_checks(parse_record(r)) for r in records]
    per_check = {c: sum(c not in r.failures for r in results) / len(results) for c in CHECK_CODES}
    return sum(r.passed for r in results) / len(results), len(results), per_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Generator (default: the packaged base SmolLM2).")
    parser.add_argument(
        "--training", default=None, help="Training data for novelty (default: bundled records)."
    )
    parser.add_argument("--engine", default="torch", choices=["torch", "llama-cpp"])
    parser.add_argument("--n", type=int, default=16, help="Patents per mode.")
    parser.add_argument("--modes", nargs="+", default=["top-down"], choices=["top-down", "bottom-up"])
    parser.add_argument("--classifier", default=None, help="A classifier folder for p_green (optional).")
    parser.add_argument("--max-new-tokens", type=int, default=320)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--usd-per-cpu-hour", type=float, default=0.05)
    parser.add_argument("--usd-per-gpu-hour", type=float, default=2.50)
    parser.add_argument("--workdir", default=None, help="Keep outputs here (default: a temp dir).")
    parser.add_argument("--no-write", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    import torch

    from patentlab.data import sample_path
    from patentlab.vet.cost import Prices
    from patentlab.vet.novelty import NoveltyIndex, load_training_documents
    from patentlab.vet.sampling import sample_generations
    from patentlab.vet.text import words
    from patentlab.vet.vetting import vet_generations

    torch.set_num_threads(args.threads)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-vet-"))
    training = args.training or str(sample_path("full_records_334.jsonl"))
    rate = 8.0 if args.engine == "llama-cpp" else 3.0  # rough tokens/s per thread on a busy 2-core CPU
    minutes = args.n * len(args.modes) * args.max_new_tokens / (rate * args.threads) / 60
    print(f"expect roughly {minutes:.0f} minutes of sampling (less on a quiet machine)", flush=True)
    docs = load_training_documents(training)
    index = NoveltyIndex().fit(docs)
    reports, gens = {}, {}
    for mode in args.modes:
        gens[mode] = work / f"generations-{mode}.jsonl"
        print(f"sampling {args.n} {mode} patents from {args.model or 'smollm2-135m (packaged base)'}"
              f" with {args.engine} …", flush=True)  # fmt: skip
        sample_generations(
            args.model, gens[mode], n=args.n, mode=mode, engine=args.engine, threads=args.threads,
            max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
            temperature=args.temperature, seed=0,
        )  # fmt: skip
        print(f"vetting {mode} …", flush=True)
        reports[mode] = vet_generations(
            gens[mode], index, work / f"vetted-{mode}", classifier=args.classifier,
            prices=Prices(args.usd_per_cpu_hour, args.usd_per_gpu_hour),
        )  # fmt: skip

    # Novelty speed: the index against difflib over every document, on the same texts.
    from patentlab.vet.generations import read_generations

    texts = [r.text.removeprefix(r.prompt) for path in gens.values() for r in read_generations(path)[0]]
    t0 = time.perf_counter()
    fast = [index.longest_common_run(t)[0] for t in texts]
    t_index = time.perf_counter() - t0
    doc_tokens = [words(d.text) for d in docs]
    t0 = time.perf_counter()
    slow = []
    for text in texts:
        query = words(text)
        best = max(
            SequenceMatcher(None, query, d, autojunk=False).find_longest_match().size for d in doc_tokens
        )
        slow.append(best if best >= index.config.seed_n else 0)
    t_difflib = time.perf_counter() - t0
    agree = fast == slow

    overall, n_real, per_check = real_pass_rate()
    command = "`.venv/bin/python benchmarks/bench_vet.py " + " ".join(sys.argv[1:]) + "`"
    first = reports[args.modes[0]].to_dict()
    model, gen_meta = first["generation"]["model"], first["generation"]
    lines = [
        "## Vetting: hit rate and cost per accepted invention (issue 7)",
        "",
        f"{command} on {machine()}, {now()}; 1-minute load average {load_average():.1f} at the end",
        "(the CPU was shared with other jobs, so wall times are upper bounds; CPU seconds are this",
        "process's own).",
        "",
        f"Generator: `{model['name_or_path']}` (weights sha256 `{(model['weights_sha256'] or '')[:16]}…`),",
        f"engine {args.engine} on {gen_meta['device']}; unconditional prompts,",
        f"temperature {args.temperature}, "
        f"top-p 0.95, top-k 50, at most {args.max_new_tokens} new tokens, seed 0. Novelty against",
        f"`{Path(training).name}` ({len(docs)} documents) with MinHash, the common-run index and MiniLM",
        f"cosine. Green: p_green from `{args.classifier or 'no classifier'}`, threshold 0.5.",
        "",
        "| mode | generated | accepted | **hit rate** | green accepted | US$ per generated "
        "| **US$ per accepted** | CPU s per accepted | wall s per accepted | tokens per accepted |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, report in reports.items():
        summary = report.to_dict()
        gen, acc = summary["cost"]["per_generated"], summary["cost"]["per_accepted"]
        green = summary["green"].get("accepted_green", "–") if summary["green"].get("scored") else "–"

        def money(x, fmt=".6f"):
            return "n/a (none accepted)" if x is None else format(x, fmt)

        lines.append(
            f"| {mode} | {report.n_generated} | {report.n_accepted} | **{report.hit_rate:.1%}** | {green} "
            f"| {money(gen['usd'])} | **{money(acc['usd'])}** | {money(acc['cpu_seconds'], '.1f')} "
            f"| {money(acc['wall_seconds'], '.1f')} | {money(acc['tokens'], '.0f')} |"
        )
    lines += ["", "Funnel: each invention leaves at its first failing check (removed); *failed* counts every",
              "invention that fails the check.", "",
              "| check | " + " | ".join(f"{m}: removed / failed" for m in reports) + " |",
              "|---|" + "---:|" * len(reports)]  # fmt: skip
    funnels = {m: {r["check"]: r for r in rep.to_dict()["funnel"]} for m, rep in reports.items()}
    for check in funnels[args.modes[0]]:
        cells = [f"{funnels[m][check]['removed']} / {funnels[m][check]['failed']}" for m in reports]
        lines.append(f"| {check} | " + " | ".join(cells) + " |")
    for mode, report in reports.items():
        summary = report.to_dict()
        stages, div = summary["cost"]["stages"], summary["diversity"]
        lines += [
            "",
            f"{mode}: sampling {stages['generate']['wall_seconds']:.0f} s wall,"
            f" {stages['generate']['cpu_seconds']:.0f} CPU s, {stages['generate']['tokens']} tokens;"
            f" vetting {stages['vet']['wall_seconds']:.0f} s wall. Diversity: distinct-2 {div['distinct_2']},"
            f" self-BLEU {div['self_bleu']},"
            f" mean pairwise embedding distance {div['mean_pairwise_distance']}.",
        ]
    lines += [
        "",
        f"Prices: ${args.usd_per_cpu_hour:g} per CPU-hour, ${args.usd_per_gpu_hour:g} per GPU-hour"
        " (configurable). Sampling cost is charged to the inventions; model loading is not.",
        "",
        f"Longest common word run against the training documents ({len(texts)} generations ×"
        f" {len(docs)} documents):",
        "",
        "| method | seconds | same run lengths |",
        "|---|---:|---|",
        "| baseline: `difflib.SequenceMatcher.find_longest_match` against every document"
        f" | {t_difflib:.2f} | |",
        f"| patentlab seed-n-gram index (`NoveltyIndex.longest_common_run`) | {t_index:.3f} |"
        f" {'yes' if agree else 'NO'} |",
        "",
        f"Real patents through the same checks: {overall:.1%} of {n_real} bundled full records pass every",
        "structural check (" + ", ".join(f"{c} {p:.1%}" for c, p in per_check.items()) + ").",
    ]
    md = "\n".join(lines) + "\n"
    print(md)
    if not args.no_write:
        update_section("vet", md)
    print(f"outputs in {work}")


if __name__ == "__main__":
    main()
