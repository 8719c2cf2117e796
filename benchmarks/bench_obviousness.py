"""The obviousness map on real held-out claims: class shares, thresholds, cost (issue 16).

Indexes the bundled real corpus (claims of ``y02_claims_1100.csv``, ``cpc_group_claims_1411.csv``
and ``full_records_334.jsonl``) *minus* a seeded sample of held-out granted claims, then maps

- the held-out claims (real granted claims whose own document is not in the index), and
- as many claims whose own document *is* in the index,

and reports how often each class comes out at a range of thresholds. In the same run it maps the
same claims with a named baseline, **whole-claim retrieval**: one hybrid query per claim, its top 4
documents as the only candidates (no per-element search), and compares class shares and CPU
seconds. A generations file (``--generations runs/demo/vet/generations.jsonl``) adds the class
shares of the generator's parsed claim 1s.

    .venv/bin/python benchmarks/bench_obviousness.py --n 40
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import load_average, machine, now, update_section

THRESHOLDS = (0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
SOURCES = ("y02_claims_1100.csv", "cpc_group_claims_1411.csv", "full_records_334.jsonl")


def shares(mapper, rows, threshold):
    from patentlab.vet.obviousness import CLASSES

    counts = dict.fromkeys(CLASSES, 0)
    refs = []
    for row in rows:
        m = mapper.build_map(*row, threshold=threshold)
        counts[m.klass] += 1
        if m.klass == "obvious_combination":
            refs.append(len(m.combination))
    return counts, refs


def element_support(rows, threshold):
    """Share of elements with a passage at ``threshold`` in some candidate document."""
    flags = [
        bool((s[e] >= threshold).any()) if s.shape[1] else False
        for _, _, s, _, _ in rows
        for e in range(len(s))
    ]
    return sum(flags) / len(flags) if flags else 0.0


def weakest(rows):
    """Per claim, the score of its least supported element (the claim is covered from there up)."""
    import numpy as np

    return np.array([float(s.max(axis=1).min()) if s.size else 0.0 for _, _, s, _, _ in rows])


def assembled_claims(docs, rng, count):
    """Claims built from clauses of three real indexed patents: A's preamble and first clause, one
    clause of B, one of C. The known answer: an obvious combination citing exactly A, B and C."""
    from patentlab.vet.obviousness import split_elements

    pool = [(d, split_elements(d.claim1)) for d in docs if len(d.claims) > 1]
    pool = [(d, e) for d, e in pool if len(e) >= 3 and all(len(x.split()) >= 4 for x in e[1:])]
    out = []
    for _ in range(count):
        (a, ea), (b, eb), (c, ec) = rng.sample(pool, 3)
        claim = f"1. {ea[0]} comprising: {ea[1]}; {rng.choice(eb[1:])}; and {rng.choice(ec[1:])}."
        out.append((claim, {a.id, b.id, c.id}))
    return out


def timed(mapper, claims):
    from patentlab.vet.cost import Stopwatch

    with Stopwatch() as sw:
        rows = mapper.element_scores(claims, show_progress=True)
    return rows, sw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="Held-out claims (and as many held-in ones).")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--assembled",
        type=int,
        default=0,
        help="Also map this many claims assembled from three indexed patents.",
    )
    parser.add_argument(
        "--skip-held-out", action="store_true", help="Only the assembled claims (own BENCHMARKS.md section)."
    )
    parser.add_argument("--generations", default=None, help="A generations JSONL to map too (optional).")
    parser.add_argument("--workdir", default=None, help="Keep the index here (default: a temp dir).")
    parser.add_argument("--no-write", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    from patentlab.data import sample_path
    from patentlab.embed.encoder import Encoder
    from patentlab.index import SearchIndex, read_documents
    from patentlab.vet.cost import Stopwatch
    from patentlab.vet.obviousness import ObviousnessConfig, ObviousnessMapper

    load_before = load_average()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-obviousness-"))
    docs = list({d.id: d for d in read_documents([sample_path(s) for s in SOURCES])}.values())
    granted = [d for d in docs if d.doc_type == "granted" and d.claims and len(d.claim1.split()) >= 20]
    rng = random.Random(args.seed)
    picked = rng.sample(granted, 2 * args.n)
    held_out, held_in = picked[: args.n], picked[args.n :]
    out_ids = {d.id for d in held_out}
    index_dir = work / f"index-n{args.n}-seed{args.seed}"  # the held-out set depends on both
    if not (index_dir / "index.json").exists():
        t = time.perf_counter()
        index = SearchIndex.create(index_dir)
        index.add([d for d in docs if d.id not in out_ids])
        index.close()
        print(f"indexed {len(docs) - len(out_ids)} documents in {time.perf_counter() - t:.0f} s")
    index = SearchIndex.open(index_dir)
    s = index.encoder_settings
    # Cold passage embeddings for both methods (no disk cache), so their costs compare.
    index._encoder = Encoder(s.model, max_length=s.max_length, dtype=s.dtype, cache=False)

    methods = {
        "baseline: whole-claim retrieval (top 4 documents)": ObviousnessConfig(
            element_candidates=0, claim_candidates=4
        ),
        "patentlab: per-element hybrid retrieval + greedy set cover": ObviousnessConfig(),
    }
    claims_out = [d.claim1 for d in held_out]
    claims_in = [d.claim1 for d in held_in]
    if args.skip_held_out:
        return assembled_section(args, index, methods, docs, out_ids, load_before)
    results = {}
    for name, cfg in methods.items():
        mapper = ObviousnessMapper(index, cfg)
        rows_out, sw_out = timed(mapper, claims_out)
        rows_in, sw_in = timed(mapper, claims_in)
        results[name] = (mapper, rows_out, rows_in, sw_out.cpu + sw_in.cpu, sw_out.wall + sw_in.wall)

    gen_rows = None
    if args.generations:
        from patentlab.generate.generations import read_generations
        from patentlab.generate.parse import parse_patent

        gens, _ = read_generations(args.generations)
        gen_claims = [c for c in (parse_patent(g.text, finished=g.finished).claims[:1] for g in gens) if c]
        mapper = results[list(methods)[1]][0]
        with Stopwatch() as sw_gen:
            gen_rows = mapper.element_scores([c[0] for c in gen_claims], show_progress=True)
    load_after = load_average()

    default = ObviousnessConfig().threshold
    lines = [
        f"Measured {now()} on {machine()}; the machine was shared with other agents"
        f" (1-minute load {load_before:.1f} before, {load_after:.1f} after).",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_obviousness.py --n {args.n} --seed {args.seed}"
        + (f" --generations {args.generations}" if args.generations else "")
        + "`",
        "",
        f"Index: the bundled real corpus ({', '.join(SOURCES)}; {len(docs)} documents) minus {args.n}"
        f" held-out granted claims (seed {args.seed}). *Held out*: those {args.n} claims, whose own"
        f" document is not in the index. *In index*: {args.n} other granted claims whose document is.",
        "",
        "Class shares (anticipated / obvious combination / unsupported) by threshold:",
        "",
        "| method | threshold | held out | in index | held-out elements with support"
        " | mean refs per obvious combination (held out) |",
        "|---|---:|---|---|---:|---:|",
    ]
    for name, (mapper, rows_out, rows_in, _, _) in results.items():
        for thr in THRESHOLDS:
            c_out, refs = shares(mapper, rows_out, thr)
            c_in, _ = shares(mapper, rows_in, thr)
            mark = " (default)" if abs(thr - default) < 1e-9 else ""
            mean_refs = f"{sum(refs) / len(refs):.1f}" if refs else "–"
            lines.append(
                f"| {name} | {thr:.2f}{mark} | {' / '.join(str(v) for v in c_out.values())}"
                f" | {' / '.join(str(v) for v in c_in.values())} | {element_support(rows_out, thr):.0%}"
                f" | {mean_refs} |"
            )
    import numpy as np

    lines += [
        "",
        "The weakest element's score per claim (a claim is covered only from that threshold down):",
        "",
    ]
    lines += ["| method | claims | min | 25 % | median | 75 % | max |", "|---|---|---:|---:|---:|---:|---:|"]
    for name, (_, rows_out, rows_in, _, _) in results.items():
        for label, rows in (("held out", rows_out), ("in index", rows_in)):
            q = np.quantile(weakest(rows), [0, 0.25, 0.5, 0.75, 1])
            lines.append(f"| {name} | {label} | " + " | ".join(f"{v:.2f}" for v in q) + " |")
    lines += [
        "",
        f"Cost at the default threshold ({default:.2f}), {2 * args.n} claims, passage embeddings cold"
        " (no cache):",
        "",
        "| method | CPU s | wall s | CPU s per claim | obvious combinations (held out + in index)"
        " | CPU s per obvious combination |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, (mapper, rows_out, rows_in, cpu, wall) in results.items():
        n_obv = sum(shares(mapper, r, default)[0]["obvious_combination"] for r in (rows_out, rows_in))
        per = f"{cpu / n_obv:.2f}" if n_obv else "n/a (none)"
        lines.append(f"| {name} | {cpu:.1f} | {wall:.1f} | {cpu / (2 * args.n):.2f} | {n_obv} | {per} |")
    if gen_rows is not None:
        mapper = results[list(methods)[1]][0]
        c_gen, _ = shares(mapper, gen_rows, default)
        n_obv = c_gen["obvious_combination"]
        lines += [
            "",
            f"Generator output (`{args.generations}`, {len(gen_rows)} parsed claim 1s, unvetted):"
            f" {' / '.join(f'{k} {v}' for k, v in c_gen.items())}; mapping took {sw_gen.cpu:.1f} CPU s"
            + (f", {sw_gen.cpu / n_obv:.2f} CPU s per obvious combination." if n_obv else "."),
        ]
    else:
        lines += ["", "Generator output: pending (no generations file was given to this run)."]
    md = "\n".join(lines) + "\n"
    print(md)
    if not args.no_write:
        update_section("obviousness", "## Obviousness map (issue 16)\n\n" + md)
    print(f"outputs in {work}")


def assembled_section(args, index, methods, docs, out_ids, load_before) -> None:
    from patentlab.vet.obviousness import ObviousnessMapper

    rng = random.Random(args.seed + 1)
    full = [d for d in docs if d.id not in out_ids and "full_records" in d.source]
    cases = assembled_claims(full, rng, args.assembled)
    lines = [
        f"Measured {now()} on {machine()}; the machine was shared with other agents"
        f" (1-minute load {load_before:.1f} before, LOAD_AFTER after).",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_obviousness.py --n {args.n} --seed {args.seed}"
        f" --assembled {args.assembled} --skip-held-out`",
        "",
        f"{len(cases)} claims assembled from clauses of three real patents in the same index (the"
        " first's preamble and first clause, one clause each of two others): the known answer is an"
        " obvious combination citing exactly those three. Passage embeddings cold (no cache).",
        "",
        "| method | anticipated / obvious combination / unsupported | cites exactly the three"
        " | CPU s | CPU s per claim | CPU s per obvious combination |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, cfg in methods.items():
        mapper = ObviousnessMapper(index, cfg)
        rows, sw = timed(mapper, [c for c, _ in cases])
        maps = [mapper.build_map(*r) for r in rows]
        counts = {
            k: sum(m.klass == k for m in maps) for k in ("anticipated", "obvious_combination", "unsupported")
        }
        exact = sum(
            m.klass == "obvious_combination" and set(m.combination) == ids
            for m, (_, ids) in zip(maps, cases, strict=True)
        )
        n_obv = counts["obvious_combination"]
        per = f"{sw.cpu / n_obv:.2f}" if n_obv else "n/a (none)"
        lines.append(
            f"| {name} | {' / '.join(map(str, counts.values()))} | {exact} / {len(cases)} | {sw.cpu:.1f}"
            f" | {sw.cpu / len(cases):.2f} | {per} |"
        )
    md = "\n".join(lines).replace("LOAD_AFTER", f"{load_average():.1f}") + "\n"
    print(md)
    if not args.no_write:
        update_section(
            "obviousness-assembled", "### Obviousness map: assembled combinations (issue 16)\n\n" + md
        )


if __name__ == "__main__":
    main()
