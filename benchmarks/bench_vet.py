"""Hit rate and cost per accepted invention: free sampling against the patent skeleton (issue 14).

Samples the same model with the same prompts and seeds, freely (the baseline), with
``--structure skeleton``, and with the skeleton plus the repetition guard (``guarded``, the
default sampling: no token n-gram twice in a line, no line twice), top-down and bottom-up, in one
run; vets every batch with every check (novelty, coherence and realism included); checks issue
14's targets on ``guarded`` against ``free``; and writes the hit rate, the funnel, the CPU
seconds and dollars per accepted invention, tokens/s with and without the constraint, the
realism share, reproductions and diversity (distinct-2, self-BLEU) into BENCHMARKS.md. In the
same run it times the novelty index's longest-common-run search against the obvious baseline,
``difflib.SequenceMatcher.find_longest_match`` against every training document, and reports the
pass rate of the structural checks on the bundled real patents.

    .venv/bin/python benchmarks/bench_vet.py --model runs/demo/generate/run/model \
        --training runs/demo/generate/data --n 32 --threads 1

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
from _report import command_line, load_average, machine, now, update_section

#: Each variant's sampling settings on top of the shared ones.
VARIANTS: dict[str, dict[str, object]] = {
    "free": {"structure": "free", "no_repeat_ngram_size": 0, "distinct_lines": False},
    "skeleton": {"structure": "skeleton", "no_repeat_ngram_size": 0, "distinct_lines": False},
    "guarded": {"structure": "skeleton", "distinct_lines": True},
    # Issue 22: claims built from real claim elements (needs --index); the model writes the prose:
    # the fine-tuned patent LM (--model), or the packaged Qwen2.5-1.5B chat model in llama.cpp.
    "combine": {"strategy": "combine", "structure": "skeleton", "distinct_lines": True},
    "combine-qwen": {"strategy": "combine", "writer": "qwen2.5-1.5b"},
}
GUARD_NGRAM = 4


def real_pass_rate() -> tuple[float, int, dict[str, float]]:
    from patentlab.generate.data import bundled_full_record_sources, iter_full_records
    from patentlab.vet.checks import CHECK_CODES, parse_record, run_checks

    records = [r for r in iter_full_records(bundled_full_record_sources())
               if r.get("title") and r.get("abstract") and r.get("claims")]  # fmt: skip
    results = [run_checks(parse_record(r)) for r in records]
    per_check = {c: sum(c not in r.failures for r in results) / len(results) for c in CHECK_CODES}
    return sum(r.passed for r in results) / len(results), len(results), per_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Generator (default: the packaged base SmolLM2).")
    parser.add_argument(
        "--training", default=None, help="Training data for novelty (default: every bundled full record)."
    )
    parser.add_argument("--engine", default="torch", choices=["torch", "llama-cpp"])
    parser.add_argument("--n", type=int, default=16, help="Patents per mode and variant.")
    parser.add_argument(
        "--modes", nargs="+", default=["top-down", "bottom-up"], choices=["top-down", "bottom-up"]
    )
    parser.add_argument(
        "--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
        help="free: today's free sampling (the baseline); skeleton: the patent skeleton; guarded: the "
        "skeleton plus the repetition guard (the default of generate sample and vet sample).",
    )  # fmt: skip
    parser.add_argument(
        "--guard-ngram", type=int, default=GUARD_NGRAM, help="The guarded variant's n-gram size."
    )
    parser.add_argument(
        "--index", default=None, help="A search index of the real corpus: the combine variant's references "
        "and the obviousness map of every variant (e.g. runs/demo/search).",
    )  # fmt: skip
    parser.add_argument("--topic", default=None, help="Seed every prompt with this topic (text or CPC code).")
    parser.add_argument(
        "--topic-modes", nargs="+", default=["top-down", "bottom-up"], help="The modes --topic applies to."
    )
    parser.add_argument("--classifier", default=None, help="A classifier folder for p_green (optional).")
    parser.add_argument("--max-new-tokens", type=int, default=320)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--seed", type=int, default=0, help="Sampling seed (and the combiner's order of bases); "
        "choose settings on one seed and report on another.",
    )  # fmt: skip
    parser.add_argument("--usd-per-cpu-hour", type=float, default=0.05)
    parser.add_argument("--usd-per-gpu-hour", type=float, default=2.50)
    parser.add_argument("--workdir", default=None, help="Keep outputs here (default: a temp dir).")
    parser.add_argument("--no-write", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    import torch

    from patentlab.generate.data import bundled_full_record_sources
    from patentlab.generate.generations import read_generations
    from patentlab.vet.cost import Prices
    from patentlab.vet.novelty import NoveltyIndex, load_training_documents
    from patentlab.vet.sampling import sample_generations
    from patentlab.vet.vetting import vet_generations

    torch.set_num_threads(args.threads)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-vet-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = [(m, v) for m in args.modes for v in args.variants]
    rate = 8.0 if args.engine == "llama-cpp" else 30.0  # rough tokens/s per thread, 2-core CPU
    minutes = args.n * len(runs) * args.max_new_tokens / (rate * args.threads) / 60
    print(f"expect roughly {minutes:.0f} minutes of sampling (less on a quiet machine)", flush=True)
    if args.training:
        docs = load_training_documents(args.training)
    else:
        docs = [d for source in bundled_full_record_sources() for d in load_training_documents(source)]
    index = NoveltyIndex().fit(docs)
    reports, gens = {}, {}
    for mode, name in runs:
        key = (mode, name)
        gens[key] = work / f"generations-{mode}-{name}.jsonl"
        print(f"sampling {args.n} {mode} patents ({name}) from {args.model or 'smollm2-135m'}"
              f" with {args.engine} …", flush=True)  # fmt: skip
        variant = dict(VARIANTS[name])
        if name.startswith("combine"):
            if not args.index:
                parser.error("the combine variant needs --index")
            variant.update(index=args.index, exclude_ids=[d.id for d in docs])
        if name in ("guarded", "combine"):
            variant["no_repeat_ngram_size"] = args.guard_ngram
        topic = args.topic if mode in args.topic_modes else None
        sample_generations(
            args.model, gens[key], n=args.n, mode=mode, engine=args.engine, threads=args.threads,
            max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, topic=topic,
            temperature=args.temperature, seed=args.seed, dtype=args.dtype, **variant,
        )  # fmt: skip
        print(f"vetting {mode} ({name}) …", flush=True)
        reports[key] = vet_generations(
            gens[key], index, work / f"vetted-{mode}-{name}", classifier=args.classifier,
            prices=Prices(args.usd_per_cpu_hour, args.usd_per_gpu_hour), index=args.index,
        ).to_dict()  # fmt: skip

    # Novelty speed: the index against difflib over every document, on the same texts.
    texts = [r.text.removeprefix(r.prompt) for path in gens.values() for r in read_generations(path)[0]]
    t_index, t_difflib, agree = novelty_speed(index, docs, texts)
    overall, n_real, per_check = real_pass_rate()

    command = command_line()
    first = reports[runs[0]]
    model, gen_meta = first["generation"]["model"], first["generation"]
    lines = [
        "## Vetting: free sampling against the patent skeleton (issue 14)",
        "",
        f"{command} on {machine()}, {now()}; 1-minute load average {load_average():.1f} at the end.",
        "",
        f"Generator: `{model['name_or_path']}` (weights sha256 `{(model['weights_sha256'] or '')[:16]}…`),",
        f"engine {args.engine} on {gen_meta['device']}; "
        + (f"topic `{args.topic}`; " if args.topic else "unconditioned prompts; ")
        + f"temperature {args.temperature}, top-p 0.95, top-k 50, at most {args.max_new_tokens} new tokens,",
        f"seed {args.seed}: the same prompts and seeds for every variant. Novelty against {len(docs)}",
        "training documents (MinHash, the common-run index, MiniLM cosine); every check of `vet run`,",
        f"coherence and realism included. Green: p_green from `{args.classifier or 'no classifier'}`.",
        "",
        "| mode | variant | generated | accepted | **hit rate** | realism share | reproductions "
        "| CPU s per accepted | **US$ per accepted** | tokens/s | distinct-2 | self-BLEU "
        "| obviousness map of the mapped: anticipated / obvious / unsupported |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (mode, name), rep in reports.items():
        acc = rep["cost"]["per_accepted"]
        sampled = rep["cost"]["stages"]["generate"]
        tps = sampled["tokens"] / sampled["wall_seconds"] if sampled["wall_seconds"] else 0.0
        realism = rep.get("realism") or {}
        reproductions = next((f["failed"] for f in rep["funnel"] if f["check"] == "reproduction"), 0)
        div = rep["diversity"]
        lines.append(
            f"| {mode} | {name} | {rep['n_generated']} | {rep['n_accepted']} "
            f"| **{rep['hit_rate']:.0%}** "
            f"| {_share(realism)} | {reproductions} "
            f"| {_fmt(acc['cpu_seconds'], '.1f')} | **{_fmt(acc['usd'], '.6f')}** | {tps:.1f} "
            f"| {div.get('distinct_2')} | {div.get('self_bleu')} | {_classes(rep)} |"
        )
    lines += targets(reports, args.modes)
    lines += ["", "Funnel: each invention leaves at its first failing check (removed); *failed* counts every",
              "invention that fails the check.", "",
              "| check | " + " | ".join(f"{m} {st}: removed / failed" for m, st in reports) + " |",
              "|---|" + "---:|" * len(reports)]  # fmt: skip
    funnels = {k: {r["check"]: r for r in rep["funnel"]} for k, rep in reports.items()}
    for check in funnels[runs[0]]:
        cells = [
            f"{funnels[k][check]['removed']} / {funnels[k][check]['failed']}" if check in funnels[k] else "–"
            for k in reports
        ]
        lines.append(f"| {check} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Prices: ${args.usd_per_cpu_hour:g} per CPU-hour, ${args.usd_per_gpu_hour:g} per GPU-hour"
        " (configurable). Sampling and vetting CPU time are charged to the inventions; model loading is not.",
        "Tokens/s is wall-clock sampling speed of the whole batch, constraint included.",
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
        f"Real patents through the same structural checks: {overall:.1%} of {n_real} bundled full records",
        "pass every one (" + ", ".join(f"{c} {p:.1%}" for c, p in per_check.items()) + ").",
    ]
    lines += quality_table(reports, work, docs)
    grounded = [k for k in reports if k[1].startswith("combine")]
    lines += accepted_examples(work, grounded or list(reports))
    md = "\n".join(lines) + "\n"
    print(md)
    if not args.no_write:
        update_section("vet", md)
    print(f"outputs in {work}")


def targets(reports: dict, modes: list[str]) -> list[str]:
    """Issue 14's targets, checked on the default sampling (``guarded``) against ``free``."""
    if not all((m, v) in reports for m in modes for v in ("free", "guarded")):
        return []
    lines = ["", "Issue 14's targets, the default sampling (`guarded`) against free sampling:", "",
             "| target | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]  # fmt: skip

    def row(label: str, cell) -> None:
        lines.append(
            f"| {label} | "
            + " | ".join(cell(reports[m, "guarded"], reports[m, "free"]) for m in modes)
            + " |"
        )

    def speed(rep: dict) -> float:
        stage = rep["cost"]["stages"]["generate"]
        return stage["tokens"] / stage["wall_seconds"] if stage["wall_seconds"] else 0.0

    def cpu(rep: dict):
        return rep["cost"]["per_accepted"]["cpu_seconds"]

    def per_token(rep: dict) -> float:
        stage = rep["cost"]["stages"]["generate"]
        return 1000 * stage["cpu_seconds"] / max(stage["tokens"], 1)

    def per_patent(rep: dict) -> float:
        return rep["cost"]["stages"]["generate"]["cpu_seconds"] / max(rep["n_generated"], 1)

    def mark(ok: bool) -> str:
        return "met" if ok else "**not met**"

    row("hit rate ≥ 60%", lambda g, f: f"{g['hit_rate']:.0%}: {mark(g['hit_rate'] >= 0.6)}")
    row(
        "≤ 10 CPU s per accepted",
        lambda g, f: f"{_fmt(cpu(g), '.1f')}: {mark(cpu(g) is not None and cpu(g) <= 10)}",
    )
    row(
        "0 reproductions",
        lambda g, f: mark(not next(x["failed"] for x in g["funnel"] if x["check"] == "reproduction")),
    )
    row(
        "distinct-2 no worse than free",
        lambda g, f: (
            f"{g['diversity']['distinct_2']} vs {f['diversity']['distinct_2']}: "
            + mark(g["diversity"]["distinct_2"] >= f["diversity"]["distinct_2"])
        ),
    )
    row(
        "self-BLEU no worse than free (lower is more diverse)",
        lambda g, f: (
            f"{g['diversity']['self_bleu']} vs {f['diversity']['self_bleu']}: "
            + mark(g["diversity"]["self_bleu"] <= f["diversity"]["self_bleu"])
        ),
    )
    row(
        "constraint costs ≤ 15% tokens/s",
        lambda g, f: f"{speed(g):.1f} vs {speed(f):.1f} tokens/s: {mark(speed(g) >= 0.85 * speed(f))}",
    )
    row(
        "(for reading) CPU ms per token; per patent",
        lambda g, f: (
            f"{per_token(g):.1f} vs {per_token(f):.1f}; {per_patent(g):.1f} vs {per_patent(f):.1f} CPU s"
        ),
    )
    lines.append("")
    lines.append(
        "Tokens/s is the batch's: a row that ends early leaves the batch narrower, and free rows never "
        "end before the token limit, so a sampler that finishes patents sooner shows fewer tokens/s "
        "while each patent costs less (the CPU seconds per accepted invention above)."
    )
    return lines


def quality_table(reports: dict, work: Path, docs: list) -> list[str]:
    """Issue 22's reference-free figures for real patents and every (mode, variant), side by side."""
    import numpy as np

    from patentlab.generate.data import bundled_full_record_sources, iter_full_records
    from patentlab.generate.parse import ParsedPatent
    from patentlab.vet.checks import parse_record
    from patentlab.vet.coherence import CoherenceConfig, SectionCoherence
    from patentlab.vet.novelty import patent_text
    from patentlab.vet.quality import NgramProfile, coherence_means, repetition
    from patentlab.vet.vetting import read_vetted

    def text_of(p: ParsedPatent | dict) -> str:
        get = p.get if isinstance(p, dict) else lambda k: getattr(p, k)
        return patent_text(get("title"), get("abstract"), get("claims") or [])

    # Real patents: the profile is fitted on every other record and scored on the rest, so that
    # no real text is compared with a profile it is part of.
    records = [r for r in iter_full_records(bundled_full_record_sources())
               if r.get("title") and r.get("abstract") and r.get("claims")]  # fmt: skip
    real = [parse_record(r) for r in records]
    held_out = real[1::2]
    profile = NgramProfile().fit([text_of(p) for p in real[0::2]])
    real_coherence = SectionCoherence(CoherenceConfig()).check(held_out)
    rows = [
        (
            "real patents (held out)", len(held_out), "–",
            np.mean([repetition(text_of(p)) for p in held_out]),
            float(profile.similarity([text_of(p) for p in held_out]).mean()),
            coherence_means([c for _, c in real_coherence]), "≥ 90% pass the gate (calibrated so)",
            "–", "–",
        )
    ]  # fmt: skip
    for (mode, name), rep in reports.items():
        vetted = read_vetted(work / f"vetted-{mode}-{name}")[0]
        texts = [text_of(v["parsed"]) for v in vetted]
        classes = (rep.get("obviousness") or {}).get("classes") or {}
        mapped = sum(classes.values())
        kinds = ("anticipated", "obvious_combination", "unsupported")
        shares = " / ".join(f"{classes.get(c, 0) / mapped:.0%}" for c in kinds) if mapped else "–"
        rows.append(
            (
                f"{mode} {name}", len(vetted), f"{rep['hit_rate']:.0%}",
                np.mean([repetition(t) for t in texts]), float(profile.similarity(texts).mean()),
                coherence_means([v.get("coherence") for v in vetted]),
                _share(rep.get("realism") or {}), shares,
                _fmt(rep["cost"]["per_accepted"]["cpu_seconds"], ".1f"),
            )
        )  # fmt: skip
    lines = [
        "",
        "Reference-free quality (issue 22), real patents beside every variant: repetition is the mean",
        "share of repeated 1- to 4-grams in 50-word windows; n-gram profile is the cosine of a text's",
        "word 2-3-gram counts to the real patents' (their 2,000 most frequent), fitted on every other",
        "bundled record; coherence is the mean MiniLM cosine title ↔ abstract / title ↔ claim 1 /",
        "abstract ↔ claim 1; realism share is of the accepted inventions (out-of-fold P(real) ≥ 0.5),",
        "beside it (*real*) the share that real texts score in the generations' place, the mean of 5",
        "batches of the same size: a writer indistinguishable from real patents scores that, not 100%;",
        "the map shares are of the accepted and mapped inventions.",
        "",
        "| texts | n | hit rate | repetition | n-gram profile | coherence T↔A / T↔C1 / A↔C1 | realism share "
        "| map: anticipated / obvious / unsupported | CPU s per accepted |",
        "|---|---:|---:|---:|---:|---|---:|---|---:|",
    ]
    for label, n, hit, rep_, prof, coh, realism, shares, cpu in rows:
        coherence = " / ".join("–" if coh[k] is None else f"{coh[k]:.2f}"
                               for k in ("title_abstract", "title_claim1", "abstract_claim1"))  # fmt: skip
        cells = [label, n, hit, f"{rep_:.3f}", f"{prof:.3f}", coherence, realism, shares, cpu]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return lines


def novelty_speed(index, docs, texts) -> tuple[float, float, bool]:
    """Seconds of the seed-n-gram index and of difflib over every document, and whether they agree."""
    from patentlab.vet.text import words

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
    return t_index, time.perf_counter() - t0, fast == slow


def _classes(rep: dict) -> str:
    classes = (rep.get("obviousness") or {}).get("classes")
    if not classes:
        return "–"
    return " / ".join(str(classes[c]) for c in ("anticipated", "obvious_combination", "unsupported"))


def accepted_examples(work: Path, keys: list, k: int = 5, seed: int = 0) -> list[str]:
    """``k`` accepted inventions in full, drawn with a fixed seed, with their references."""
    import random

    from patentlab.vet.vetting import read_vetted

    pool = [
        row
        for mode, name in keys
        for row in read_vetted(work / f"vetted-{mode}-{name}")[0]
        if row["accepted"]
    ]
    picked = random.Random(seed).sample(pool, min(k, len(pool)))
    lines = ["", f"{len(picked)} accepted inventions, drawn at random (seed {seed}), in full:", ""]
    for row in picked:
        p, combo, m = row["parsed"], row.get("combination") or {}, row.get("obviousness") or {}
        lines += [f"**{p['title']}**", "", f"> {p['abstract']}", ""]
        lines += [f"> {n}. {c}" for n, c in zip(p["claim_numbers"], p["claims"], strict=True)]
        if combo:
            cited = ", ".join(m.get("combination", []))
            lines += ["", f"Built from base {combo['base']} and {', '.join(combo['secondary'])} "
                      f"({combo['rationale']}); the map: {m.get('class')} citing {cited}."]  # fmt: skip
        lines.append("")
    return lines


def _share(realism: dict) -> str:
    """The realism share beside what real texts score in the generations' place."""
    share, control = realism.get("share"), realism.get("control")
    if share is None:
        return "–"
    return f"{share:.0%}" + (f" (real {control['share']:.0%})" if control else "")


def _fmt(x, spec: str) -> str:
    return "n/a (none accepted)" if x is None else format(x, spec)


if __name__ == "__main__":
    main()
