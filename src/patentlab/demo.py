"""``patentlab demo``: the whole pipeline so far, on the bundled real sample, with no flags.

The demo is a list of stages. Each stage writes under ``<workdir>/<stage name>`` and is skipped
when its outputs already exist, so a second run reuses earlier steps' work (``--fresh`` redoes
everything). Each step contributes one stage function from its own ``<step>/demo.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer

from patentlab import console

app = typer.Typer(help="Run the pipeline end to end on the bundled real sample.", invoke_without_command=True)


@dataclass
class DemoContext:
    """What stages share: the work directory, the freshness flag and each stage's output dir."""

    workdir: Path
    fresh: bool = False
    outputs: dict[str, Path] = field(default_factory=dict)

    def stage_dir(self, name: str) -> Path:
        return self.workdir / name

    def done(self, name: str, *files: str) -> bool:
        """True when this stage's files exist and ``--fresh`` was not given: reuse them."""
        d = self.stage_dir(name)
        return not self.fresh and bool(files) and all((d / f).exists() for f in files)


@dataclass
class Stage:
    name: str
    title: str
    run: Callable[[DemoContext], None]


def _stages() -> list[Stage]:
    from patentlab.corpus.demo import run as corpus_stage

    return [
        Stage("corpus", "Ingest the bundled sample, split it, print the dataset card", corpus_stage),
    ]


@app.callback()
def demo(
    workdir: Path = typer.Option(Path("runs/demo"), help="Where every stage writes its outputs."),
    fresh: bool = typer.Option(False, help="Redo every stage instead of reusing earlier outputs."),
    only: list[str] = typer.Option(None, help="Run only these stages (repeatable)."),
) -> None:
    """Run every stage of the pipeline on the bundled real sample."""
    ctx = DemoContext(workdir=workdir, fresh=fresh)
    stages = _stages()
    selected = [s for s in stages if not only or s.name in only]
    start = time.perf_counter()
    for i, stage in enumerate(selected, start=1):
        console.out.rule(f"[bold]{i}/{len(selected)} {stage.name}[/bold]: {stage.title}")
        t0 = time.perf_counter()
        stage.run(ctx)
        console.out.print(f"[dim]{stage.name} took {time.perf_counter() - t0:.1f} s[/dim]")
    console.out.rule(f"demo finished in {time.perf_counter() - start:.1f} s; outputs in {workdir}")
