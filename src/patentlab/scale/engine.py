"""Run a job over sharded Parquet on one process (``local``) or on a Ray cluster (``ray``).

Both engines follow the same shard plan, skip the parts already written, call the same worker on
each shard and write its part atomically, then mark the manifest complete. So a job killed at any
point (``kill -9`` included) and started again, on either engine, ends with the same output.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from patentlab import console
from patentlab.errors import PatentlabError
from patentlab.scale.jobs import Job
from patentlab.scale.shards import (
    Shard,
    ShardedOutput,
    cpu_count,
    input_fingerprint,
    plan_shards,
    read_shard,
    write_part,
)

ENGINES = ("local", "ray")
DEFAULT_SHARD_ROWS = 10_000


@dataclass
class JobReport:
    """What a run did: shards in the plan, shards skipped as already done, rows written, time."""

    out_dir: Path
    engine: str
    shards: int
    skipped: int
    rows: int
    seconds: float
    workers: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def run_job(
    job: Job,
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    engine: str = "local",
    shard_rows: int = DEFAULT_SHARD_ROWS,
    workers: int | None = None,
    address: str | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> JobReport:
    """Run ``job`` over the Parquet ``inputs`` into ``out_dir``, resuming an earlier run there.

    Args:
        job: an :class:`~patentlab.scale.jobs.EmbedJob`, ``PredictJob`` or ``GenerateJob``.
        inputs: Parquet files or folders of them.
        out_dir: where ``part-*.parquet`` and ``manifest.json`` go.
        engine: ``local`` (this process) or ``ray``.
        shard_rows: rows per shard (part of the job's spec: resume needs the same value).
        workers: Ray actors (default: one per CPU, or per GPU when the cluster has GPUs).
        address: a Ray cluster to join (``ray://host:10001`` or ``auto``); default ``$RAY_ADDRESS``,
            else a local Ray started for this job.
        overwrite: replace the output of a different job in ``out_dir`` instead of refusing.
    """
    if engine not in ENGINES:
        raise PatentlabError(f"engine must be one of {', '.join(ENGINES)}, not '{engine}'", field="engine")
    shards = plan_shards(inputs, shard_rows)
    spec = {**job.spec(), "inputs": input_fingerprint(inputs), "shard_rows": shard_rows}
    output = ShardedOutput(out_dir, spec, shards, overwrite=overwrite)
    todo = output.pending()
    start = time.perf_counter()
    rows = sum(s.rows for s in todo)
    n_workers = 0
    if todo:
        if engine == "local":
            n_workers = 1
            _run_local(job, todo, output, show_progress)
        else:
            from patentlab.scale.ray_engine import run_on_ray

            n_workers = run_on_ray(
                job, todo, output.dir, workers=workers, address=address, progress=show_progress
            )
    seconds = time.perf_counter() - start
    report = JobReport(output.dir, engine, len(shards), len(shards) - len(todo), rows, seconds, n_workers)
    output.finish(
        {
            "rows": sum(s.rows for s in shards),
            "last_run": {"engine": engine, "rows": rows, "seconds": seconds},
        }
    )
    return report


def _run_local(job: Job, todo: Sequence[Shard], output: ShardedOutput, show_progress: bool) -> None:
    bar = console.progress(transient=True)
    task = bar.add_task(f"{job.kind} (local)", total=sum(s.rows for s in todo))
    with bar if show_progress else contextlib.nullcontext():
        worker = job.load(threads=cpu_count())
        for shard in todo:
            write_part(output.dir, shard, worker(read_shard(shard, job.columns()), shard))
            bar.advance(task, shard.rows)
