"""The review stage of ``patentlab demo``: real human gold through the review store, then the
seed's final model done properly (issue 23).

The gold labels are the bundled ``hitl_gold_100.csv``: 100 claims a human reviewed, with the
single LLM's suggestion beside each human label. They go through the review store (agreement,
overrides, export with provenance). The final model is the seed's recipe: MiniLM + a linear head
fine-tuned on the labelled records with a class-weighted loss and gold ×5, one epoch at 128
tokens, bf16 where the CPU computes it. The same 100 claims are the classify stage's test set, so
the model learns from one half of them and is reported on the other half, beside the classify
stage's baseline and kept model measured on that same half, with bootstrap 95 % intervals.

Records per preset (a 16 x 128 training step costs about 2 s on 2 cores):

- ``tiny``: 48 records, a handful of steps (the regression test);
- ``demo``: every green training record and non-green up to :data:`DEMO_RECORDS` in all;
- ``full``: every labelled record (~12,000; about 25 minutes on 2 cores, seconds on a GPU).
"""

from __future__ import annotations

import json
import shutil

from patentlab import console
from patentlab.data import sample_path
from patentlab.pipeline.context import DemoContext

STAGE = "review"
FINAL = "final"
DEMO_RECORDS = 320
TINY_RECORDS = 48


def print_final(rows: dict, gold_test: int) -> None:
    from patentlab.classify.intervals import fmt_interval

    header = ["model", "kappa [95% CI]", "AUC [95% CI]", "pred. green"]
    body = [
        [
            name,
            fmt_interval(r["kappa"], r["kappa_ci"]),
            fmt_interval(r["auc"], r["auc_ci"]),
            f"{r['predicted_green']:.0%}",
        ]
        for name, r in rows.items()
    ]
    title = (
        f"The held-out half of hitl_gold_100 ({gold_test} human labels; "
        "the other half trained the final model)"
    )
    console.out.print(console.table(title, header, body))


def run(ctx: DemoContext) -> None:
    from patentlab.classify.data import capped_subset, load_gold, load_labeled, without_texts
    from patentlab.classify.train import TrainConfig
    from patentlab.llm.loading import fast_dtype
    from patentlab.review.agreement import agreement_report
    from patentlab.review.cli import print_agreement
    from patentlab.review.final_model import gold_through_review, train_review_model
    from patentlab.review.store import ReviewStore

    out = ctx.stage_dir(STAGE)
    splits = ctx.outputs.get("splits", ctx.stage_dir("splits"))
    gold_csv = sample_path("hitl_gold_100.csv")
    if ctx.done(STAGE, "gold_labels.parquet", f"{FINAL}/final.json", f"{FINAL}/model/classifier_head.pt"):
        console.out.print(f"reusing {out}")
        saved = json.loads((out / FINAL / "final.json").read_text(encoding="utf-8"))
    else:
        if ctx.fresh:
            shutil.rmtree(out / FINAL, ignore_errors=True)
        gold_file = gold_through_review(gold_csv, out)
        gold = load_gold(gold_file, weight=1.0)
        train, _ = without_texts(load_labeled(splits / "train_silver.parquet"), gold.texts)
        cap = ctx.pick(demo=DEMO_RECORDS, tiny=TINY_RECORDS, full=None)
        if cap is not None and len(train) > cap:
            train = capped_subset(train, cap)
        import torch

        config = TrainConfig(
            base_model="minilm",
            epochs=1,
            max_length=ctx.pick(demo=128, tiny=32),
            lr=5e-5,
            warmup_steps=ctx.pick(demo=3, tiny=1, full=75),
            batch_size=16,
            bf16=fast_dtype() == torch.bfloat16,
        )
        console.out.print(
            f"[bold]Final model[/bold] ({ctx.preset} preset): fine-tune MiniLM + Linear(384, 2) on "
            f"{len(train):,} records ({int(train.labels.sum())} green, class-weighted) + 50 HITL gold "
            f"claims x5; 1 epoch, max_length {config.max_length}, bf16 {config.bf16}"
        )
        classify = ctx.outputs.get("classify", ctx.stage_dir("classify"))
        compare = {
            name: classify / folder
            for name, folder in (
                ("frozen baseline (classify)", "baseline"),
                ("kept by selection (classify)", "selected"),
            )
            if (classify / folder).exists()
        }
        review = train_review_model(
            train,
            gold,
            out / FINAL,
            config=config,
            compare=compare,
            n_boot=ctx.pick(demo=500, tiny=100, full=1000),
        )
        saved = {"rows": review.rows, "gold_test": review.gold_test, "seconds": review.seconds}
    with ReviewStore(out / "review.db") as store:
        print_agreement(agreement_report(store.decisions()))
    print_final(saved["rows"], saved["gold_test"])
    console.out.print(
        f"[dim]final model: {out / FINAL / 'model'} (encoder + classifier_head.pt); figures: "
        f"{out / FINAL / 'final.json'}; review the gold yourself: "
        f"patentlab serve --db {out / 'review.db'}[/dim]"
    )
    ctx.outputs[STAGE] = out
