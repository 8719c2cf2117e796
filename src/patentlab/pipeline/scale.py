"""The scale stage of ``patentlab demo``: one job on the Ray engine, checked against one process.

Scores the claims of the demo's pool and eval split with the classify stage's model (or embeds them with
MiniLM when there is no model yet) twice: on the single-process engine and on a local Ray with
two actors, in 8-row shards, and shows that the two outputs are equal. Both runs resume, so a
second ``make demo`` reads the finished outputs back instead of recomputing them.
"""

from __future__ import annotations

import shutil

from patentlab import console
from patentlab.pipeline.context import DemoContext

SHARD_ROWS = 8
SPLITS = ("eval_silver.parquet", "pool_unlabeled.parquet")


def run(ctx: DemoContext) -> None:
    import ray

    from patentlab.scale import EmbedJob, PredictJob, read_output, run_job

    out = ctx.stage_dir("scale")
    if ctx.fresh:
        shutil.rmtree(out, ignore_errors=True)
    splits = ctx.outputs.get("splits", ctx.stage_dir("splits"))
    inputs = [splits / name for name in SPLITS]
    if not all(p.exists() for p in inputs):
        console.out.print("no splits yet: run the corpus stage first (patentlab demo --only corpus)")
        return
    model = ctx.stage_dir("classify") / "finetuned" / "model"
    if not (model / "classifier_head.pt").exists():
        model = ctx.stage_dir("classify") / "baseline"
    job = PredictJob(str(model.resolve())) if model.exists() else EmbedJob("minilm")
    started_ray = not ray.is_initialized()
    try:
        # overwrite: when an earlier stage made a new model or new splits, redo the job
        local = run_job(job, inputs, out / "local", shard_rows=SHARD_ROWS, overwrite=True)
        on_ray = run_job(
            job, inputs, out / "ray", engine="ray", shard_rows=SHARD_ROWS, workers=2, overwrite=True
        )
    finally:
        if started_ray and ray.is_initialized():
            ray.shutdown()  # leave the CPUs to the next stages
    a, b = read_output(out / "local"), read_output(out / "ray")
    rows = []
    for report in (local, on_ray):
        took = f"{report.seconds:.1f} s" if report.rows else "reused"
        workers = f", {report.workers} actors" if report.engine == "ray" and report.rows else ""
        rows.append([f"{report.engine}{workers}", report.shards, report.skipped, report.rows, took])
    console.out.print(
        console.table(
            f"{job.kind} over {len(inputs)} split files", ["engine", "shards", "reused", "rows", "time"], rows
        )
    )
    if not a.equals(b):
        raise SystemExit(f"the Ray output differs from the single-process output in {out}")
    what = "p_green" if job.kind == "predict" else "embeddings"
    console.out.print(
        f"[green]Ray output = single-process output[/green]: {a.num_rows} rows ({what}) in "
        f"{local.shards} shards, identical ids, order and values; outputs in {out}"
    )
    ctx.outputs["scale"] = out
