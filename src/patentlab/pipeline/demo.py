"""``patentlab demo``: the whole pipeline so far, on the bundled real sample, with no flags.

The demo is a list of stages. Each stage writes under ``<workdir>/<stage name>`` and is skipped
when its outputs already exist, so a second run reuses earlier steps' work (``--fresh`` redoes
everything). Each step's stage is one module of this package (``pipeline/<step>.py``): the
steps stay libraries, and the orchestration that crosses them lives on this top floor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer

from patentlab import console
from patentlab.pipeline.context import DemoContext

app = typer.Typer(help="Run the pipeline end to end on the bundled real sample.", invoke_without_command=True)


@dataclass
class Stage:
    name: str
    title: str
    run: Callable[[DemoContext], None]


def _stages() -> list[Stage]:
    from patentlab.pipeline.agents import run as agents_stage
    from patentlab.pipeline.classify import run as classify_stage
    from patentlab.pipeline.corpus import run as corpus_stage
    from patentlab.pipeline.generate import run as generate_stage
    from patentlab.pipeline.review import run as review_stage
    from patentlab.pipeline.scale import run as scale_stage
    from patentlab.pipeline.search import run as search_stage
    from patentlab.pipeline.vet import run as vet_stage

    return [
        Stage("corpus", "Ingest the bundled sample, split it, print the dataset card", corpus_stage),
        Stage("classify", "Choose a classifier by grouped CV; test it on human gold", classify_stage),
        Stage("agents", "Queue the most uncertain pool claims; three LLM agents label them", agents_stage),
        Stage("review", "Human gold via the review store; the seed's fine-tune with gold x5", review_stage),
        Stage("generate", "LoRA fine-tune SmolLM2 on patents; sample top-down and bottom-up", generate_stage),
        Stage("vet", "Combine real claim elements, vet the inventions, publish what passes", vet_stage),
        Stage("search", "Hybrid prior-art index over the corpus and published inventions", search_stage),
        Stage("scale", "Score the splits on a local Ray cluster; same output as one process", scale_stage),
    ]


@app.callback()
def demo(
    workdir: Path = typer.Option(Path("runs/demo"), help="Where every stage writes its outputs."),
    fresh: bool = typer.Option(False, help="Redo every stage instead of reusing earlier outputs."),
    only: list[str] = typer.Option(None, help="Run only these stages (repeatable)."),
    preset: str = typer.Option(
        "demo",
        help="tiny: every stage on toy sizes (the regression test); demo: the default, within 15 "
        "minutes cold on 2 cores; full: every record and the quality encoder (MPNet).",
    ),
) -> None:
    """Run every stage of the pipeline on the bundled real sample."""
    ctx = DemoContext(workdir=workdir, fresh=fresh, preset=preset)
    stages = _stages()
    selected = [s for s in stages if not only or s.name in only]
    start = time.perf_counter()
    for i, stage in enumerate(selected, start=1):
        console.out.rule(f"[bold]{i}/{len(selected)} {stage.name}[/bold]: {stage.title}")
        t0 = time.perf_counter()
        try:
            stage.run(ctx)
        except Exception as exc:
            exc.patentlab_stage = stage.name  # the CLI's one-line error names the stage
            raise
        console.out.print(f"[dim]{stage.name} took {time.perf_counter() - t0:.1f} s[/dim]")
    console.out.rule(f"demo finished in {time.perf_counter() - start:.1f} s; outputs in {workdir}")
