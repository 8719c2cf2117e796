"""The Ray Data engine: a pool of actors, each loading the job's model once, one shard per call.

The dataset holds one row per pending shard. ``map_batches`` with a callable class and an
``ActorPoolStrategy`` of fixed size starts that many actors; each builds the job's worker in its
constructor (the model loads once per actor), then reads its shard's rows, computes them and
writes the part file itself (atomically), returning only a one-row summary. The data therefore
never passes through the driver or the object store, and on a multi-node cluster the output
folder must be on storage every node sees (NFS, or a mounted bucket), as for any Ray Data write.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patentlab import console
from patentlab.errors import PatentlabError
from patentlab.scale.jobs import Job
from patentlab.scale.shards import Shard, cpu_count, read_shard, write_part


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address`` (or ``$RAY_ADDRESS``), else start a local one.

    Does nothing when Ray is already initialised (a notebook, a test fixture, ``ray job submit``).
    """
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=num_cpus or cpu_count(), include_dashboard=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise PatentlabError(f"cannot start or reach Ray at {address or 'a local cluster'}: {exc}") from exc


class ShardActor:
    """A Ray Data actor: builds the job's worker once, then processes one shard per call.

    :func:`actor_class` bakes the job into a subclass, so the actor needs no constructor
    arguments (Ray would otherwise keep them in the object store for actor restarts).
    """

    job: Job
    out_dir: str
    threads: int | None = None

    def __init__(self) -> None:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # one weight-loading bar per actor is only noise
        self.worker = self.job.load(threads=self.threads)
        self.columns = self.job.columns()

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        done: dict[str, list] = {"index": [], "rows": []}
        for i in range(len(batch["index"])):
            shard = Shard(
                int(batch["index"][i]), str(batch["path"][i]), int(batch["offset"][i]), int(batch["rows"][i])
            )
            write_part(self.out_dir, shard, self.worker(read_shard(shard, self.columns), shard))
            done["index"].append(shard.index)
            done["rows"].append(shard.rows)
        return done


def actor_class(job: Job, out_dir: str | Path, threads: int | None) -> type[ShardActor]:
    """A :class:`ShardActor` subclass for this job and output folder."""
    attrs = {"job": job, "out_dir": str(Path(out_dir).resolve()), "threads": threads}
    return type(f"{type(job).__name__}Actor", (ShardActor,), attrs)


def plan_actors(
    resources: dict[str, float], workers: int | None, shards: int
) -> tuple[int, dict[str, float]]:
    """How many actors, and the resources each asks for: a GPU each where the cluster has GPUs."""
    gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
    # Never more actors than shards, or than the cluster can place (a pool that waits for
    # resources that never come would hang the job).
    n = max(1, min(workers or (gpus or cpus), shards, gpus or cpus))
    if gpus:
        return n, {"num_gpus": 1, "num_cpus": 1}
    return n, {"num_cpus": max(1, cpus // n)}


def _user_error(exc: BaseException) -> PatentlabError | None:
    """The PatentlabError behind a Ray error, if any.

    An actor's exception reaches the driver wrapped (``RayTaskError(UserCodeException)``), with
    the original only in its ``cause`` chain or, failing that, in the remote traceback's text.
    """
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        # Exactly PatentlabError: Ray's RayTaskError(PatentlabError) hybrid has a traceback as text.
        if type(e) is PatentlabError:
            return e
        stack += [e.__cause__, e.__context__, getattr(e, "cause", None)]
    marker = "patentlab.errors.PatentlabError: "
    for line in reversed(str(exc).splitlines()):
        if marker in line:
            return PatentlabError(line.split(marker, 1)[1])
    return None


def run_on_ray(
    job: Job,
    todo: Sequence[Shard],
    out_dir: str | Path,
    *,
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
) -> int:
    """Process the ``todo`` shards on Ray; returns the number of actors used."""
    import ray
    import ray.data

    connect(address)
    n, resources = plan_actors(ray.cluster_resources(), workers, len(todo))
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours is on stderr already
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # no banners; errors come back raised
    shards = ray.data.from_items([s.to_dict() for s in todo], override_num_blocks=len(todo))
    results = shards.map_batches(
        actor_class(job, out_dir, int(resources.get("num_cpus", 1))),
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=n),
        **resources,
    )
    bar = console.progress(transient=True)
    task = bar.add_task(f"{job.kind} (ray, {n} actor{'s' if n > 1 else ''})", total=sum(s.rows for s in todo))
    try:
        with bar if progress else contextlib.nullcontext():
            for row in results.iter_rows():
                bar.advance(task, int(row["rows"]))
    except Exception as exc:
        user = _user_error(exc)
        if user is not None:
            raise user from None
        raise
    return n
