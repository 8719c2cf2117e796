"""The learning curve of a generator run: held-out perplexity and hit rate at each saved point.

``patentlab generate train --eval-every k`` records the held-out perplexity every k steps and
saves the model there (``training_report.json`` → ``learning_curve``). This module samples the
same prompts and seeds from each point with the default sampling settings, vets every batch
against the run's training data (one novelty index for all points), and writes the table
steps → perplexity, hit rate (``curve.json`` and ``curve.md`` in the output folder).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.storage import atomic_path, write_json

CURVE_JSON = "curve.json"
CURVE_MD = "curve.md"


@dataclass
class CurvePoint:
    """One saved point of a run, sampled and vetted."""

    step: int
    perplexity: float
    model: str
    mode: str
    n_generated: int
    n_accepted: int
    hit_rate: float
    complete: int  # generations that parse with all three sections
    sample_seconds: float
    top_failures: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_points(run_dir: str | Path) -> list[dict[str, Any]]:
    """The learning-curve points of a training run, each with its model resolved to a path or name."""
    from patentlab.generate.train import REPORT_FILE

    run_dir = Path(run_dir)
    report_path = run_dir / REPORT_FILE
    if not report_path.is_file():
        raise PatentlabError(f"no {REPORT_FILE}; train with `patentlab generate train` first", path=run_dir)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    points = report.get("learning_curve") or []
    if not points:
        raise PatentlabError("the run has no learning curve; train with --eval-every", path=report_path)
    resolved = []
    for point in points:
        model = point.get("model")
        if model is None:
            continue  # evaluated but not saved (save_points off)
        local = run_dir / model
        resolved.append({**point, "model": str(local) if local.exists() else model})
    return resolved


def learning_curve(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    n: int = 8,
    modes: Sequence[str] = ("top-down", "bottom-up"),
    training: str | Path | None = None,
    steps: Sequence[int] | None = None,
    engine: str = "torch",
    encoder: str | None = "minilm",
    progress: bool = True,
    **sampling: Any,
) -> list[CurvePoint]:
    """Sample ``n`` patents per mode from every saved point of ``run_dir``, vet them, tabulate.

    Args:
        run_dir: a ``patentlab generate train`` run with a learning curve.
        out_dir: where each point's generations and vetting go, with ``curve.json`` and
            ``curve.md`` (default: ``<run_dir>/curve``).
        training: the novelty reference (default: the run's own build-data directory).
        steps: only these steps of the curve (default: all).
        sampling: :class:`~patentlab.generate.sample.SamplingConfig` fields; the defaults
            otherwise, and the same seed at every point, so the points differ only in weights.
    """
    from patentlab import console
    from patentlab.generate.train import REPORT_FILE
    from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex, load_training_documents
    from patentlab.vet.sampling import sample_generations
    from patentlab.vet.vetting import vet_generations

    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir / "curve"
    points = run_points(run_dir)
    if steps is not None:
        points = [p for p in points if p["step"] in set(steps)]
        if not points:
            raise PatentlabError(f"none of steps {list(steps)} is a saved point of the run", path=run_dir)
    if training is None:
        report = json.loads((run_dir / REPORT_FILE).read_text(encoding="utf-8"))
        training = (report.get("config") or {}).get("data_dir")
        if not training or not Path(training).exists():
            raise PatentlabError("the run's data dir is gone; pass the training data", path=run_dir)
    index = NoveltyIndex(NoveltyConfig(encoder=encoder)).fit(
        load_training_documents(training), show_progress=progress
    )
    rows: list[CurvePoint] = []
    for point in points:
        for mode in modes:
            name = f"step-{point['step']:06d}-{mode}"
            gens = sample_generations(
                point["model"], out_dir / f"{name}.jsonl", n=n, mode=mode, engine=engine,
                progress=progress, **sampling,
            )  # fmt: skip
            vetted = vet_generations(gens, index, out_dir / f"{name}-vetted", show_progress=False)
            summary = vetted.to_dict()
            meta = json.loads(gens.with_name(gens.name.removesuffix(".jsonl") + ".meta.json").read_text())
            failures: dict[str, int] = {}
            for stage in summary.get("funnel", []):
                if stage.get("removed"):
                    failures[stage["check"]] = stage["removed"]
            complete = sum(1 for line in gens.read_text(encoding="utf-8").splitlines() if _complete(line))
            rows.append(CurvePoint(
                step=point["step"], perplexity=point["perplexity"], model=str(point["model"]), mode=mode,
                n_generated=summary["n_generated"], n_accepted=summary["n_accepted"],
                hit_rate=summary["hit_rate"], complete=complete,
                sample_seconds=meta["cost"]["wall_seconds"], top_failures=failures,
            ))  # fmt: skip
            console.err.print(
                f"step {point['step']} {mode}: {summary['n_accepted']}/{summary['n_generated']} accepted"
            )
    write_curve(rows, out_dir, run_dir=run_dir, n=n, sampling=sampling)
    return rows


def _complete(line: str) -> bool:
    from patentlab.generate.parse import parse_patent

    row = json.loads(line)
    return parse_patent(row["text"], finished=row.get("finished")).is_complete


def curve_table(rows: Sequence[CurvePoint]) -> list[list[Any]]:
    """Rows of the printed table: step, perplexity, mode, complete, accepted, hit rate."""
    return [
        [r.step, f"{r.perplexity:.2f}", r.mode, f"{r.complete}/{r.n_generated}",
         f"{r.n_accepted}/{r.n_generated}", f"{r.hit_rate:.0%}",
         ", ".join(f"{k} {v}" for k, v in r.top_failures.items()) or "-"]
        for r in rows
    ]  # fmt: skip


HEADERS = ["step", "perplexity", "mode", "complete", "accepted", "hit rate", "removed by"]


def write_curve(rows: Sequence[CurvePoint], out_dir: Path, **context: Any) -> None:
    """``curve.json`` (every field) and ``curve.md`` (the table) in ``out_dir``."""
    write_json(out_dir / CURVE_JSON, {**{k: str(v) if isinstance(v, Path) else v for k, v in context.items()},
                                      "points": [r.to_dict() for r in rows]})  # fmt: skip
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in curve_table(rows)]
    with atomic_path(out_dir / CURVE_MD) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
