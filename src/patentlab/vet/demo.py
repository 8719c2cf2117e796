"""The vet stage of ``patentlab demo``: sample a small batch, vet it, publish what passes.

It uses the generate stage's fine-tuned model when that stage has run (else the packaged base
SmolLM2, which is not trained on patents and is expected to score near zero), the generate
stage's training data for novelty (else the bundled full records it is built from), and the
classify stage's fine-tuned classifier for p_green when there is one. Accepted inventions go to
``<workdir>/publish``, where the search stage indexes them next to the corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

from patentlab import console
from patentlab.demo import DemoContext

#: Small enough for the demo's ~3 minute budget on 2 CPU cores.
DEMO_SAMPLING = {"n": 8, "max_new_tokens": 256, "batch_size": 8, "temperature": 0.8, "top_p": 0.95, "seed": 0}
GENERATIONS = "generations.jsonl"
VETTED = "vetted"


def _first(paths: list[Path]) -> Path | None:
    return next((p for p in paths if p.exists()), None)


def find_generator(ctx: DemoContext) -> Path | None:
    """The generate stage's trained model folder, if that stage has run."""
    root = Path(ctx.outputs.get("generate", ctx.stage_dir("generate")))
    if not root.is_dir():
        return None
    found = sorted(root.rglob("adapter_config.json")) + sorted(root.rglob("model.safetensors"))
    found = [p for p in found if "checkpoint" not in p.parts]
    return found[0].parent if found else None


def find_training_data(ctx: DemoContext) -> Path:
    """The generate stage's build-data folder, else the bundled records it is built from."""
    from patentlab.data import sample_path

    root = Path(ctx.outputs.get("generate", ctx.stage_dir("generate")))
    built = sorted(root.rglob("train.jsonl")) if root.is_dir() else []
    return built[0].parent if built else sample_path("full_records_334.jsonl")


def find_classifier(ctx: DemoContext) -> Path | None:
    root = Path(ctx.outputs.get("classify", ctx.stage_dir("classify")))
    return _first([root / "finetuned" / "model", root / "baseline"])


def run(ctx: DemoContext) -> None:
    from patentlab.publish.publish import publish
    from patentlab.vet.cli import print_summary
    from patentlab.vet.sampling import sample_generations
    from patentlab.vet.vetting import SUMMARY_FILE, vet_generations

    out = ctx.stage_dir("vet")
    gens = out / GENERATIONS
    if ctx.done("vet", VETTED + "/" + SUMMARY_FILE, GENERATIONS):
        console.out.print(f"reusing {out}")
        print_summary(json.loads((out / VETTED / SUMMARY_FILE).read_text(encoding="utf-8")), out / VETTED)
        ctx.outputs["vet"] = out
        return
    model = find_generator(ctx)
    if model is None:
        console.out.print(
            "[yellow]no trained generator (generate stage not run): sampling the packaged base "
            "SmolLM2, which was never trained on patents[/yellow]"
        )
    settings = dict(DEMO_SAMPLING)
    n = settings.pop("n")
    console.out.print(
        f"sampling {n} top-down patents from {model or 'smollm2-135m'} "
        f"({settings['max_new_tokens']} new tokens each)"
    )
    sample_generations(model, gens, n=n, **settings)
    training, classifier = find_training_data(ctx), find_classifier(ctx)
    console.out.print(f"novelty against {training}; green scores from {classifier or '(no classifier yet)'}")
    report = vet_generations(gens, training, out / VETTED, classifier=classifier)
    print_summary(report.to_dict(), out / VETTED)
    published = publish(out / VETTED, ctx.stage_dir("publish"))
    console.out.print(
        f"published {published.new} new inventions ({published.total} in {ctx.stage_dir('publish')})"
    )
    ctx.outputs.update(vet=out, publish=ctx.stage_dir("publish"))
