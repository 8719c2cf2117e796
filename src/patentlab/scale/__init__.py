"""Scale-out: the embed, predict and generate steps as resumable jobs over sharded Parquet.

``run_job(EmbedJob("minilm"), ["pool.parquet"], "out/embed", engine="ray")`` runs on a local or
remote Ray cluster; ``engine="local"`` runs the same shards in this process with the same output.
Names are imported lazily so that ``import patentlab.scale`` imports neither Ray nor torch.
"""

from __future__ import annotations

from patentlab._lazy import lazy_exports

_EXPORTS = {
    "EmbedJob": "patentlab.scale.jobs",
    "PredictJob": "patentlab.scale.jobs",
    "GenerateJob": "patentlab.scale.jobs",
    "run_job": "patentlab.scale.engine",
    "JobReport": "patentlab.scale.engine",
    "read_output": "patentlab.scale.shards",
    "plan_shards": "patentlab.scale.shards",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
