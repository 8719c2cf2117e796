"""Hit rate and cost per accepted invention of a generator on this machine (issue 7).

Samples a metered batch, vets it (checks, novelty against the training data, diversity), and
writes the hit rate, the funnel and the cost per generated and per accepted invention into
BENCHMARKS.md. In the same run it times the novelty index's longest-common-run search against
the obvious baseline, ``difflib.SequenceMatcher.find_longest_match`` against every training
document, and checks that both find the same run lengths. It also reports the pass rate of the
structural checks on the bundled real patents.

    .venv/bin/python benchmarks/bench_vet.py --model runs/demo/generate/model --n 16
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from difflib import SequenceMatcher
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, now, update_section


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
    parser.add_argument("--n", type=int, default=16)
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
    from patentlab.vet.report import cost_lines
    from patentlab.vet.sampling import sample_generations
    from patentlab.vet.text import words
    from patentlab.vet.vetting import vet_generations

    torch.set_num_threads(args.threads)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-vet-"))
    training = args.training or str(sample_path("full_records_334.jsonl"))
    gens = work / "generations.jsonl"
    print(f"sampling {args.n} patents from {args.model or 'smollm2-135m (packaged base)'} …", flush=True)
    sample_generations(args.model, gens, n=args.n, max_new_tokens=args.max_new_tokens,
                       batch_size=args.batch_size, temperature=args.temperature, seed=0)  # fmt: skip
    print("vetting …", flush=True)
    docs = load_training_documents(training)
    index = NoveltyIndex().fit(docs)
    report = vet_generations(gens, index, work / "vetted",
                             prices=Prices(args.usd_per_cpu_hour, args.usd_per_gpu_hour))  # fmt: skip

    # Novelty speed: the index against difflib over every document, on the same texts.
    from patentlab.vet.generations import read_generations

    texts = [r.text.removeprefix(r.prompt) for r in read_generations(gens)[0]]
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
    summary = report.to_dict()
    cost = summary["cost"]
    acc = cost["per_accepted"]
    funnel = " → ".join(f"{r['check']} {r['remaining']}" for r in summary["funnel"])
    command = "`.venv/bin/python benchmarks/bench_vet.py " + " ".join(sys.argv[1:]) + "`"
    gen_meta = summary["generation"]
    model, stages, div = gen_meta["model"], cost["stages"], summary["diversity"]
    gen_stage = stages["generate"]
    per_acc = (
        f"unbounded: none accepted; the whole batch cost ${cost['total']['usd']:.6f},"
        f" {cost['total']['cpu_seconds']:.0f} CPU s"
        if acc["usd"] is None
        else f"${acc['usd']:.6f}, {acc['cpu_seconds']:.0f} CPU s, {acc['wall_seconds']:.0f} s wall"
    )
    lines = [
        "## Vetting: hit rate and cost per accepted invention (issue 7)",
        "",
        f"{command} on {machine()}, {now()}. The CPU was shared with other jobs, so wall times are upper",
        "bounds; CPU seconds are this process's own.",
        "",
        f"Generator: `{model['name_or_path']}` (weights sha256 `{(model['weights_sha256'] or '')[:16]}…`),",
        f"top-down, temperature {args.temperature}, top-p 0.95, at most {args.max_new_tokens} new tokens,",
        f"batch {args.batch_size}, on {gen_meta['device']}. Novelty against `{Path(training).name}`",
        f"({len(docs)} documents) with MinHash, the common-run index and MiniLM cosine.",
        "",
        "| | value |",
        "|---|---:|",
        f"| generated | {report.n_generated} |",
        f"| accepted | {report.n_accepted} |",
        f"| **hit rate** | **{report.hit_rate:.1%}** |",
        f"| **cost per accepted invention** | **{per_acc}** |",
        "",
        f"Funnel (remaining after each check): generated {report.n_generated} → {funnel}.",
        "",
        "The default generator is the packaged SmolLM2-135M-Instruct, which was never trained on",
        "patents: pass `--model` a fine-tuned run (`patentlab generate train`, or the demo's",
        "`runs/demo/generate/run/model`) to measure that generator with the same command.",
        "",
        *cost_lines(cost),
        "",
        f"Prices: ${args.usd_per_cpu_hour:g} per CPU-hour, ${args.usd_per_gpu_hour:g} per GPU-hour"
        " (configurable).",
        f"Sampling: {gen_stage['wall_seconds']:.0f} s wall, {gen_stage['cpu_seconds']:.0f} CPU s,"
        f" {gen_stage['tokens']} tokens; vetting: {stages['vet']['wall_seconds']:.0f} s wall.",
        f"Diversity of the batch: distinct-2 {div['distinct_2']}, self-BLEU {div['self_bleu']},",
        f"mean pairwise embedding distance {div['mean_pairwise_distance']}.",
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
