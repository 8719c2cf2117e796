"""Per-worker throughput of the scale jobs, and the capacity plan it implies (issue 9).

Measures, on this machine, one worker (one CPU thread, as one Ray actor with ``num_cpus=1`` gets):

* embed: claims/s with the packaged MiniLM;
* predict: claims/s with a saved classifier (``runs/demo/classify/finetuned/model`` when the demo
  made one, else a MiniLM + LR baseline fitted here on 200 bundled claims);
* generate + vet: inventions/hour with the demo's fine-tuned generator (else the packaged
  SmolLM2), top-down, ``--max-new-tokens`` tokens, structural vetting included.

In the same run it times a whole embed job on the single-process engine (the baseline) and on a
local Ray with two actors, and checks their outputs are equal. It then projects wall time and
cost for the 1,372,910-claim corpus and for 1M inventions at N workers, and writes the table into
BENCHMARKS.md and docs/scale.md.

    .venv/bin/python benchmarks/bench_scale.py        # about 6 minutes on 2 quiet cores
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import ROOT, load_average, machine, now, update_section

CORPUS_CLAIMS = 1_372_910
INVENTIONS = 1_000_000
WORKERS = (1, 8, 32, 128)
DOCS = ROOT / "docs" / "scale.md"


def claims_table(n: int):
    import pandas as pd
    import pyarrow as pa

    from patentlab.data import sample_path

    df = pd.read_csv(sample_path("y02_claims_1100.csv"), dtype={"id": str})
    df = df.sample(n=min(n, len(df)), random_state=0)
    return df, pa.Table.from_pandas(df[["id", "text"]], preserve_index=False)


def worker_rate(job, table, shard_rows: int) -> tuple[float, float]:
    """(rows per second of one single-threaded worker, seconds to load it)."""
    from patentlab.scale.shards import Shard

    t0 = time.perf_counter()
    worker = job.load(threads=1)
    load_s = time.perf_counter() - t0
    worker(table.slice(0, min(4, table.num_rows)), Shard(0, "warm-up", 0, 4))  # first-call costs
    t0 = time.perf_counter()
    for i, start in enumerate(range(0, table.num_rows, shard_rows)):
        worker(table.slice(start, shard_rows), Shard(i, "bench", start, shard_rows))
    return table.num_rows / (time.perf_counter() - t0), load_s


def classifier(tmp: Path, df) -> tuple[str, str]:
    demo = ROOT / "runs" / "demo" / "classify" / "finetuned" / "model"
    if (demo / "classifier_head.pt").exists():
        config = json.loads((demo / "patentlab_classifier.json").read_text(encoding="utf-8"))
        return str(demo), f"the demo's fine-tuned MiniLM classifier, {config['max_length']} tokens"
    from patentlab.classify.baseline import FrozenEncoderClassifier

    train = df.head(200)
    FrozenEncoderClassifier("minilm").fit(train["text"].tolist(), train["is_green"].tolist()).save_pretrained(
        tmp / "clf"
    )
    return str(tmp / "clf"), "a MiniLM + LR baseline fitted on 200 bundled claims"


def generator() -> tuple[str | None, str]:
    demo = ROOT / "runs" / "demo" / "generate" / "run" / "model"
    if demo.exists():
        return str(demo), "the demo's LoRA-tuned SmolLM2-135M"
    return None, "the packaged SmolLM2-135M"


def engines(table, tmp: Path, shard_rows: int) -> dict:
    """A whole embed job on the local engine (baseline) and on a 2-actor local Ray."""
    import pyarrow.parquet as pq
    import ray

    from patentlab.scale import EmbedJob, read_output, run_job

    path = tmp / "claims.parquet"
    pq.write_table(table, path)
    job = EmbedJob("minilm")
    local = run_job(job, [path], tmp / "local", shard_rows=shard_rows, show_progress=False)
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    start_s = time.perf_counter() - t0
    try:
        on_ray = run_job(job, [path], tmp / "ray", engine="ray", shard_rows=shard_rows, show_progress=False)
    finally:
        ray.shutdown()
    same = read_output(tmp / "local").equals(read_output(tmp / "ray"))
    return {"local_s": local.seconds, "ray_s": on_ray.seconds, "ray_start_s": start_s, "same": same}


def fmt_hours(h: float) -> str:
    return f"{h * 60:.0f} min" if h < 1 else f"{h:,.1f} h" if h < 48 else f"{h / 24:,.1f} days"


def capacity(rates: dict[str, float], usd_cpu_hour: float) -> str:
    """The projection table: worker-hours and cost (independent of N), wall time at N workers."""
    jobs = [
        ("embed (MiniLM)", CORPUS_CLAIMS, "claims", rates["embed"]),
        ("predict (classifier)", CORPUS_CLAIMS, "claims", rates["predict"]),
        ("generate + vet", INVENTIONS, "inventions", rates["generate"]),
    ]
    walls = " | ".join(f"wall, {n} worker{'s' if n > 1 else ''}" for n in WORKERS)
    lines = [
        f"| job | items | per worker | worker-hours | cost | {walls} |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(WORKERS),
    ]
    for name, items, unit, rate in jobs:
        worker_hours = items / rate / 3600
        per = f"{rate:,.1f} claims/s" if unit == "claims" else f"{rate * 3600:,.0f} inventions/h"
        cells = " | ".join(fmt_hours(worker_hours / n) for n in WORKERS)
        cost = worker_hours * usd_cpu_hour
        lines.append(f"| {name} | {items:,} {unit} | {per} | {worker_hours:,.0f} | ${cost:,.0f} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=256, help="Claims for the embed/predict rates.")
    parser.add_argument("--inventions", type=int, default=8, help="Inventions for the generate rate.")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--no-write", action="store_true", help="Print only.")
    args = parser.parse_args()
    print(
        f"measuring embed, predict ({args.claims} claims each), generate+vet ({args.inventions} "
        f"inventions, {args.max_new_tokens} tokens) and a local-vs-Ray job: about 6 minutes on 2 quiet cores",
        flush=True,
    )

    import pyarrow as pa

    from patentlab.scale import EmbedJob, GenerateJob, PredictJob
    from patentlab.vet.cost import Prices

    prices = Prices()
    loads = [load_average()]
    df, table = claims_table(args.claims)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        embed_rate, embed_load = worker_rate(EmbedJob("minilm"), table, 64)
        print(f"embed: {embed_rate:.1f} claims/s per worker (model load {embed_load:.1f} s)", flush=True)
        model_dir, model_desc = classifier(tmp, df)
        predict_rate, predict_load = worker_rate(PredictJob(model_dir), table, 64)
        print(f"predict: {predict_rate:.1f} claims/s per worker ({model_desc})", flush=True)
        loads.append(load_average())
        gen_model, gen_desc = generator()
        ids = pa.table({"id": [f"g{i}" for i in range(args.inventions)]})
        gen_job = GenerateJob(gen_model, max_new_tokens=args.max_new_tokens, batch_size=8, seed=0)
        gen_rate, gen_load = worker_rate(gen_job, ids, 8)
        print(f"generate+vet: {gen_rate * 3600:.0f} inventions/h per worker ({gen_desc})", flush=True)
        loads.append(load_average())
        eng = engines(table, tmp, 64)
        print(
            f"embed job, {table.num_rows} claims: local {eng['local_s']:.1f} s, Ray (2 actors) "
            f"{eng['ray_s']:.1f} s + {eng['ray_start_s']:.1f} s to start Ray; equal outputs: {eng['same']}"
        )
        loads.append(load_average())
    rates = {"embed": embed_rate, "predict": predict_rate, "generate": gen_rate}
    plan = capacity(rates, prices.usd_per_cpu_hour)
    print(plan)
    if args.no_write:
        return
    load_text = ", ".join(f"{x:.1f}" for x in loads)
    measured = f"""Measured with `.venv/bin/python benchmarks/bench_scale.py --claims {args.claims} \
--inventions {args.inventions} --max-new-tokens {args.max_new_tokens}` on {machine()}, {now()}; \
1-minute load average {load_text} (at start, after predict, after generate, at the end; the CPU \
was shared with other work, so the rates are conservative).

One worker is one CPU thread (a Ray actor with `num_cpus=1`), steady state (model load excluded:
embed {embed_load:.1f} s, predict {predict_load:.1f} s, generate {gen_load:.1f} s, once per actor):

* embed: **{embed_rate:,.1f} claims/s** (packaged MiniLM, fp32, 384 tokens, {args.claims} real claims);
* predict: **{predict_rate:,.1f} claims/s** ({model_desc});
* generate + vet: **{gen_rate * 3600:,.0f} inventions/h** ({gen_desc}, top-down, up to \
{args.max_new_tokens} new tokens, batch 8, structural checks).

Same run, a whole embed job over {table.num_rows} claims (64-row shards): single-process engine \
{eng["local_s"]:.1f} s (both cores, the baseline); Ray with 2 actors {eng["ray_s"]:.1f} s plus \
{eng["ray_start_s"]:.1f} s to start Ray; outputs equal: **{eng["same"]}**.

Projection: wall time = items / (per-worker rate × N), cost = worker-hours × ${prices.usd_per_cpu_hour:.2f} \
per CPU-hour (the `patentlab.vet.cost.Prices` default), assuming linear scaling (the shards are \
independent; model loading, Ray start-up and reading/writing Parquet are left out, and they are \
small next to hours of compute). Cost does not depend on N: more workers finish sooner for the same money.

{plan}
"""
    update_section("scale", "## Scale-out: per-worker throughput and capacity (issue 9)\n\n" + measured)
    text = DOCS.read_text(encoding="utf-8")
    block = f"<!-- capacity -->\n{measured.strip()}\n<!-- /capacity -->"
    DOCS.write_text(re.sub(r"<!-- capacity -->.*?<!-- /capacity -->", lambda _: block, text, flags=re.S))
    print("wrote the 'scale' section of BENCHMARKS.md and the capacity table of docs/scale.md")


if __name__ == "__main__":
    main()
