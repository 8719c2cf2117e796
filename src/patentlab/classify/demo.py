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
from patentlab.data import sample_path
from patentlab.demo_context import DemoContext

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


def print_selection(result) -> None:
    """The protocol's tables: selection by grouped CV, then the test with intervals."""
    from patentlab.classify.intervals import fmt_interval
    from patentlab.classify.selection import GROUPS

    sel = result.selection
    groups = [g for g in GROUPS if g in sel.groups]
    header = [
        "candidate",
        *[f"AUC {g}" for g in groups],
        "mean AUC [95% CI]",
        "mean kappa [95% CI]",
        "dAUC vs best",
    ]
    body = []
    for r in sel.rows:
        d = r["auc_diff_vs_best"]
        mark = " (kept)" if r["candidate"] == sel.chosen else ""
        body.append(
            [
                r["method"] + mark,
                *[f"{r['auc_by_group'].get(g) or float('nan'):.3f}" for g in groups],
                fmt_interval(r["auc"], r["auc_ci"]),
                fmt_interval(r["kappa"], r["kappa_ci"]),
                "best" if r["candidate"] == sel.best else fmt_interval(d["diff"], d["ci"]),
            ]
        )
    sizes = ", ".join(f"{g} {sel.groups[g]['n']:,} ({sel.groups[g]['green']} green)" for g in groups)
    console.out.print(
        console.table(f"Selection: leave-one-source-out CV on the training data ({sizes})", header, body)
    )
    console.out.print(f"[dim]rule: {sel.rule}; C={result.C:g} by the same CV[/dim]")
    header = ["candidate", "kappa [95% CI]", "AUC [95% CI]", "pred. green", "n"]
    body = [
        [
            row["method"] + (" (kept)" if name == sel.chosen else ""),
            fmt_interval(row["kappa"], row["kappa_ci"]),
            fmt_interval(row["auc"], row["auc_ci"]),
            f"{row['predicted_green']:.0%}",
            str(row["n"]),
        ]
        for name, row in result.test.items()
    ]
    console.out.print(console.table(f"Test: {GOLD}.csv (human labels; never used to choose)", header, body))
    if result.robustness:
        print_robustness(result.robustness, sel.chosen)


def print_robustness(robustness: dict, chosen: str) -> None:
    """Kappa/AUC of the baseline and the kept model by kind of text and length quartile (CV)."""
    from patentlab.classify.intervals import fmt_interval
    from patentlab.classify.selection import DESCRIPTIONS

    names = list(robustness)
    header = ["slice (out-of-fold)", "n (green)"]
    header += [f"{DESCRIPTIONS[n].split(' (')[0]}: kappa / AUC" for n in names]
    body = []
    for i, row in enumerate(robustness[names[0]]):
        cells = [row["slice"], f"{row['n']} ({row['green']})"]
        for n in names:
            r = robustness[n][i]
            cells.append(
                f"{fmt_interval(r['kappa'], r['kappa_ci'], 2)} / {fmt_interval(r['auc'], r['auc_ci'], 2)}"
            )
        body.append(cells)
    console.out.print(
        console.table("Robustness: by kind of text and by length (leave-one-source-out)", header, body)
    )


def run(ctx: DemoContext) -> None:
    from patentlab.classify.data import load_gold, load_labeled, without_texts
    from patentlab.classify.protocol import MODEL_CARD_JSON, SELECTION_JSON, EncoderSettings, run_protocol
    from patentlab.classify.selection import record_groups

    out = ctx.stage_dir("classify")
    splits = ctx.outputs.get("splits", ctx.stage_dir("splits"))
    if ctx.done("classify", SELECTION_JSON, "baseline/baseline.json", f"selected/{MODEL_CARD_JSON}"):
        import json

        from patentlab.classify.protocol import ProtocolResult
        from patentlab.classify.selection import Selection

        console.out.print(f"reusing {out}")
        saved = json.loads((out / SELECTION_JSON).read_text(encoding="utf-8"))
        selection = Selection(saved["rows"], saved["chosen"], saved["best"], saved["groups"], saved["rule"])
        print_selection(
            ProtocolResult(
                selection, saved["test"], saved["C"], {}, out / "selected", out / "baseline",
                EncoderSettings(**saved["encoder"]), saved.get("robustness"),
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
        encoder=EncoderSettings.fast("minilm", 128),
        n_boot=ctx.pick(demo=500, tiny=100, full=1000),
        on_step=lambda message: console.out.print(f"[bold]{message}[/bold]"),
    )
    print_selection(result)
    console.out.print(
        f"[dim]kept: {result.selected_dir} (model_card.json holds its figures); the baseline: "
        f"{result.baseline_dir}[/dim]"
    )
    ctx.outputs["classify"] = out
