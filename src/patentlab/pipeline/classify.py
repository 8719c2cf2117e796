"""The classify stage of ``patentlab demo``: choose the classifier without looking at the test.

Candidates: the frozen MiniLM + class-weighted LR (the baseline), the Y02 definitions zero-shot,
a TF-IDF expert, and their sums of log-odds. The LR's C and the combination are chosen by
leave-one-source-out cross-validation on the training data (claims from ``y02_claims``, claims
from the other CPC-labelled files, abstracts), so a choice must transfer to a source it never saw.
Among candidates whose AUC the paired bootstrap does not separate from the best, the simplest is
kept. Only then are the 100 human gold claims of ``hitl_gold_100.csv`` read, as a test set, with
bootstrap 95 % intervals on kappa and AUC (issue 23; docs/classify.md, "Selection").

Sizes per preset (the encoding of the texts is most of the stage's time on 2 cores):

- ``tiny``: 200 records (every source kept), for the regression test;
- ``demo`` and ``full``: every labelled record (~12,000). With 3,000 of the 9,442 abstracts the
  protocol could not separate LR + Y02 prior from the plain baseline and kept the baseline; every
  abstract costs ~100 s more here, but the search index then finds all of them in the embedding
  cache instead of encoding them itself (``patentlab.pipeline.index``), so the demo pays once.

The encoder is passed explicitly: MiniLM, 128 tokens (chosen by the same protocol against 256,
BENCHMARKS.md), bf16 where the CPU computes it natively. Vectors are cached on disk.
"""

from __future__ import annotations

import shutil

import numpy as np

from patentlab import console
from patentlab.classify.cli import print_selection
from patentlab.data import sample_path
from patentlab.pipeline.context import DemoContext

GOLD = "hitl_gold_100"
TINY_RECORDS = 200


def subsample(
    groups: np.ndarray, labels: np.ndarray, *, abstracts: int | None, total: int | None, seed: int = 0
):
    """Row indices for a preset: every green record first, then non-green at random.

    ``abstracts`` caps the abstracts group; ``total`` caps every group in proportion (tiny).
    """
    rng = np.random.default_rng(seed)
    keep = []
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        cap = len(rows)
        if abstracts is not None and g == "abstracts":
            cap = min(cap, abstracts)
        if total is not None:
            cap = min(cap, max(20, int(total * len(rows) / len(groups))))
        green, other = rows[labels[rows] == 1], rng.permutation(rows[labels[rows] == 0])
        green = rng.permutation(green)[: cap // 2]
        keep.append(np.concatenate([green, other[: max(cap - len(green), 0)]]))
    return np.sort(np.concatenate(keep))


def run(ctx: DemoContext) -> None:
    from patentlab.classify.data import load_gold, load_labeled, without_texts
    from patentlab.classify.protocol import MODEL_CARD_JSON, SELECTION_JSON, fast_encoder, run_protocol
    from patentlab.classify.selection import record_groups

    out = ctx.stage_dir("classify")
    splits = ctx.outputs.get("splits", ctx.stage_dir("splits"))
    if ctx.done("classify", SELECTION_JSON, "baseline/baseline.json", f"selected/{MODEL_CARD_JSON}"):
        import json

        from patentlab.classify.protocol import ProtocolResult
        from patentlab.classify.selection import Selection
        from patentlab.embed.settings import EncoderSettings

        console.out.print(f"reusing {out}")
        saved = json.loads((out / SELECTION_JSON).read_text(encoding="utf-8"))
        selection = Selection(saved["rows"], saved["chosen"], saved["best"], saved["groups"], saved["rule"])
        print_selection(
            ProtocolResult(
                selection, saved["test"], saved["C"], {}, out / "selected", out / "baseline",
                EncoderSettings.from_dict(saved["encoder"]), saved.get("robustness"),
            )
        )  # fmt: skip
        ctx.outputs["classify"] = out
        return
    if ctx.fresh:
        shutil.rmtree(out, ignore_errors=True)
    gold = load_gold(sample_path(f"{GOLD}.csv"), weight=1.0)
    split_file = splits / "train_silver.parquet"
    train, dropped = without_texts(load_labeled(split_file), gold.texts)
    groups = record_groups(split_file, train.ids)
    rows = subsample(
        groups,
        train.labels,
        abstracts=None,
        total=ctx.pick(demo=None, tiny=TINY_RECORDS),
    )
    train, groups = train.subset(rows), groups[rows]
    console.out.print(
        f"training data ({ctx.preset} preset): {len(train):,} labelled records "
        f"({int(train.labels.sum())} green; {dropped} gold claims held out); test: the "
        f"{len(gold)} human labels of {GOLD}.csv ({int(gold.labels.sum())} green), read only "
        "after the choice is made"
    )
    result = run_protocol(
        train,
        groups,
        gold,
        out,
        encoder=fast_encoder("minilm", 128),
        n_boot=ctx.pick(demo=500, tiny=100, full=1000),
        on_step=lambda message: console.out.print(f"[bold]{message}[/bold]"),
    )
    print_selection(result)
    console.out.print(
        f"[dim]kept: {result.selected_dir} (model_card.json holds its figures); the baseline: "
        f"{result.baseline_dir}[/dim]"
    )
    ctx.outputs["classify"] = out
