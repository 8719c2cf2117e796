"""The classify stage of ``patentlab demo``: frozen MiniLM + LR, then a short CPU fine-tune.

Both are evaluated on eval_silver and on the 100 human gold labels, and the iteration table is
printed. The fine-tune is shortened for a 2-core CPU (2 epochs at 256 tokens, a learning rate
suited to 168 claims); ``patentlab classify train`` runs the card's full defaults.
"""

from __future__ import annotations

import shutil

from patentlab import console
from patentlab.classify.cli import print_epoch, print_history, print_iterations, print_metrics
from patentlab.data import sample_path
from patentlab.demo import DemoContext

DEMO_TRAIN = {"epochs": 2, "max_length": 256, "lr": 5e-5, "warmup_steps": 2, "batch_size": 16}


def run(ctx: DemoContext) -> None:
    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.data import load_gold, load_labeled
    from patentlab.classify.evaluate import ITERATIONS_JSON, evaluate
    from patentlab.classify.train import TrainConfig, train

    out = ctx.stage_dir("classify")
    splits = ctx.outputs.get("splits", ctx.stage_dir("splits"))
    if ctx.done("classify", ITERATIONS_JSON, "finetuned/model/classifier_head.pt", "baseline/baseline.json"):
        console.out.print(f"reusing {out}")
        print_iterations(out)
        ctx.outputs["classify"] = out
        return
    if ctx.fresh:  # otherwise an interrupted fine-tune resumes from its checkpoint
        shutil.rmtree(out, ignore_errors=True)
    train_data = load_labeled(splits / "train_silver.parquet")
    eval_sets = {
        "eval_silver": load_labeled(splits / "eval_silver.parquet"),
        "gold_100": load_gold(sample_path("hitl_gold_100.csv"), weight=1.0),
    }

    console.out.print(
        f"[bold]Iteration 1[/bold]: frozen MiniLM + logistic regression on {len(train_data)} claims"
    )
    clf = FrozenEncoderClassifier("minilm").fit(train_data.texts, train_data.labels)
    clf.save_pretrained(out / "baseline")
    for name, data in eval_sets.items():
        print_metrics(
            evaluate(clf, data, out / "baseline" / f"eval_{name}", name=name, run_dir=out),
            out / "baseline" / f"eval_{name}",
        )

    config = TrainConfig(base_model="minilm", **DEMO_TRAIN)
    console.out.print(
        f"[bold]Iteration 2[/bold]: fine-tune MiniLM + Linear(384, 2) on CPU "
        f"({config.epochs} epochs, max_length {config.max_length}, lr {config.lr:g})"
    )
    result = train(
        train_data, out / "finetuned", config, eval_data=eval_sets["eval_silver"], on_epoch=print_epoch
    )
    print_history(result.history, result.best_epoch)
    for name, data in eval_sets.items():
        report_dir = out / "finetuned" / f"eval_{name}"
        print_metrics(
            evaluate(
                result.model_dir,
                data,
                report_dir,
                name=name,
                run_dir=out,
                method="Fine-tuned MiniLM on silver",
            ),
            report_dir,
        )
    print_iterations(out)
    ctx.outputs["classify"] = out
