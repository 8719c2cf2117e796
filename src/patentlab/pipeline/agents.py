"""The agents stage of ``patentlab demo``: queue the pool's most uncertain claims, run the agents."""

from __future__ import annotations

import importlib.util
import json
import shutil

from patentlab import console
from patentlab.errors import PatentlabError
from patentlab.pipeline.context import DemoContext

#: Claims sent to the agents in the demo: enough to see routing, small enough for ~1 minute on CPU
#: (three agents per claim with SmolLM2 in llama.cpp: the stage took 55 s in a full `make demo`).
DEMO_K = 3


def run(ctx: DemoContext) -> None:
    from patentlab.agents.cli import print_summary
    from patentlab.agents.run import SUMMARY_FILE

    out = ctx.stage_dir("agents")
    if ctx.done("agents", "active/rounds.json", f"labels/{SUMMARY_FILE}"):
        console.out.print(f"reusing {out}")
        print_summary(json.loads((out / "labels" / SUMMARY_FILE).read_text(encoding="utf-8")), out / "labels")
        ctx.outputs["agents"] = out
        return
    if ctx.fresh:
        shutil.rmtree(out, ignore_errors=True)
    queue = _queue(ctx, out)
    _label(queue, out)
    ctx.outputs["agents"] = out


def _queue(ctx: DemoContext, out):
    """Round 1 of active learning on the pool with the classify stage's baseline (reused if done)."""
    import pandas as pd

    from patentlab.active.cli import print_summary
    from patentlab.active.queue import load_pool, select_round
    from patentlab.active.rounds import RoundLedger, queue_file
    from patentlab.active.scoring import score_with_classifier

    ledger = RoundLedger(out / "active")
    if ledger.rounds:
        console.out.print(f"reusing the round-1 queue in {out / 'active'}")
        return pd.read_parquet(out / "active" / queue_file(1))
    baseline = ctx.outputs.get("classify", ctx.stage_dir("classify")) / "baseline"
    if not (baseline / "baseline.json").exists():
        raise PatentlabError(
            "no baseline classifier: run 'patentlab demo --only classify' first", path=baseline
        )
    pool = load_pool(ctx.outputs.get("splits", ctx.stage_dir("splits")) / "pool_unlabeled.parquet")
    p_green, embeddings = score_with_classifier(baseline, pool["text"].tolist())
    queue, summary = select_round(
        pool,
        p_green,
        ledger,
        strategy="uncertainty",
        k=ctx.pick(demo=DEMO_K, tiny=1),
        embeddings=embeddings,
        model=str(baseline),
    )
    print_summary(summary, out / "active")
    return queue


def _backend():
    """SmolLM2-135M through llama.cpp when llama-cpp-python is installed, else in transformers.

    The same packaged GGUF either way; llama.cpp generates about 5× faster on CPU (MODELS.md).
    One llama.cpp thread: its threads spin-wait for each other, which on a busy CPU made two
    threads 7× slower than one (docs/agents.md); on a quiet one, one thread costs < 2×.
    """
    if importlib.util.find_spec("llama_cpp") is not None:
        from patentlab.llm.chat.llamacpp import LlamaCppBackend

        return LlamaCppBackend("smollm2-135m", n_threads=1)
    import torch

    from patentlab.llm.chat.transformers import TransformersBackend

    torch.set_num_threads(2)
    return TransformersBackend("smollm2-135m")


def _label(queue, out) -> None:
    from patentlab.agents.cli import print_summary
    from patentlab.agents.panel import AgentPanel
    from patentlab.agents.run import label_queue

    backend = _backend()
    # Small batches keep the progress bar moving (transformers still batches two claims at a time).
    panel = AgentPanel(backend, max_retries=1, batch_size=2, argument_tokens=64, verdict_tokens=96)
    with console.progress() as bar:
        task = bar.add_task(f"advocate → skeptic → judge ({backend.name})", total=len(queue))
        summary = label_queue(
            queue, out / "labels", panel, on_progress=lambda n, t: bar.update(task, completed=n)
        )
    print_summary(summary, out / "labels")
    console.out.print(
        "[yellow]SmolLM2-135M is a 135M-parameter model: on hard claims it is near chance (see the agreement "
        "table in BENCHMARKS.md), so the routing sends most claims to a human. Serve a larger model over "
        "HTTP (--backend http) for agent labels worth keeping.[/yellow]"
    )
