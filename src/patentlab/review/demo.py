"""The review stage of ``patentlab demo``: real human gold through the review store, the final
model, and the card's three-row iteration table, every F1 measured on the same eval set.

The gold labels are the bundled ``hitl_gold_100.csv``: 100 claims a human reviewed, with the
single LLM's suggestion beside each human label. Nothing is invented: row 2 trains on the LLM's
labels, row 3 on the human's, with identical settings (the classify stage's short CPU schedule).
"""

from __future__ import annotations

import shutil

from patentlab import console
from patentlab.data import sample_path
from patentlab.demo_context import DemoContext

STAGE = "review"
#: The classify stage's short CPU schedule at 128 tokens instead of 256, on 192 silver records
#: and the 100 gold claims: two fine-tunes must fit about 3 minutes on 2 cores (a 16 x 256
#: training step costs ~3.5 s there, 16 x 128 ~2.3 s). Both rows use it, so they differ only in
#: where the gold labels came from.
MAX_LENGTH = 128
SILVER = 192
FINETUNED = ("finetuned_single_llm", "finetuned_mas_hitl")


def print_table(rows: list[dict], eval_name: str) -> None:
    from patentlab.classify.metrics import fmt

    header = ["Iteration", "Method", "kappa", "AUC", "MCC", "F1 (green)", "Accuracy", "n"]
    body = [
        [
            str(i),
            r["method"],
            fmt(r.get("kappa"), 3),
            fmt(r.get("auc"), 3),
            fmt(r.get("mcc"), 3),
            f"{r['f1']:.4f}",
            f"{r['accuracy']:.2%}",
            str(r["n"]),
        ]
        for i, r in enumerate(rows, start=1)
    ]
    title = f"Iteration table on {eval_name} (a {rows[0]['n'] if rows else 0}-record sanity check)"
    console.out.print(console.table(title, header, body))
    console.out.print(
        "[dim]Rows 2 and 3 train on the 100 human gold labels, so they cannot be measured on them; "
        "the classify stage's table gives kappa and AUC against those human labels.[/dim]"
    )


def run(ctx: DemoContext) -> None:
    from patentlab.classify.demo import DEMO_TRAIN
    from patentlab.classify.evaluate import ITERATIONS_JSON, read_iterations
    from patentlab.classify.train import TrainConfig
    from patentlab.review.agreement import agreement_report
    from patentlab.review.cli import print_agreement
    from patentlab.review.final_model import run_final_iterations
    from patentlab.review.store import ReviewStore

    out = ctx.stage_dir(STAGE)
    splits = ctx.outputs.get("splits", ctx.stage_dir("splits"))
    finished = [f"{folder}/model/classifier_head.pt" for folder in FINETUNED]
    if ctx.done(STAGE, ITERATIONS_JSON, "gold_labels.parquet", *finished):
        console.out.print(f"reusing {out}")
        rows = [r for r in read_iterations(out) if r["eval_set"] == "eval_silver"]
    else:
        if ctx.fresh:  # otherwise an interrupted fine-tune resumes from its checkpoint
            for folder in FINETUNED:
                shutil.rmtree(out / folder, ignore_errors=True)
        baseline = ctx.outputs.get("classify", ctx.stage_dir("classify")) / "baseline"
        result = run_final_iterations(
            splits / "train_silver.parquet",
            splits / "eval_silver.parquet",
            sample_path("hitl_gold_100.csv"),
            out,
            config=TrainConfig(base_model="minilm", **{**DEMO_TRAIN, "max_length": MAX_LENGTH}),
            baseline_dir=baseline,
            max_silver=SILVER,
        )
        rows = result.rows
    with ReviewStore(out / "review.db") as store:
        print_agreement(agreement_report(store.decisions()))
    print_table(rows, "eval_silver")
    console.out.print(
        f"[dim]gold labels with provenance: {out / 'gold_labels.parquet'}; "
        f"review them yourself: patentlab serve --db {out / 'review.db'}[/dim]"
    )
    ctx.outputs[STAGE] = out
