"""The classify stage of ``patentlab demo``: frozen MiniLM + weighted LR, the Y02 definitions
zero-shot, a TF-IDF expert, the three together (the demo's final model), then a short CPU
fine-tune.

Both learn from every labelled record of the bundled data (claims, and abstracts where a record
has no claims) except the 100 human gold claims of ``hitl_gold_100.csv``, which are the headline
test: Cohen's kappa and ROC-AUC against human labels. Green is scarce (about 2 % of the labelled
records), so the logistic regression weights the classes instead of downsampling, with ``C``
chosen by cross-validation on the training data only. The 60-record eval_silver is a sanity
check. Embedding the ~12,000 texts with MiniLM takes a few minutes on 2 cores the first time; the
vectors are cached on disk (``patentlab.embed``), so later runs reuse them. The fine-tune runs on
a capped, class-weighted subset (every green record + non-green up to :data:`FINETUNE_CAP`) so it
fits a 2-core CPU; ``patentlab classify train`` runs the card's full defaults.
"""

from __future__ import annotations

import shutil

from patentlab import console
from patentlab.classify.cli import print_epoch, print_history, print_iterations, print_metrics
from patentlab.data import sample_path
from patentlab.demo_context import DemoContext

DEMO_TRAIN = {"epochs": 2, "max_length": 256, "lr": 5e-5, "warmup_steps": 2, "batch_size": 16}
#: Texts in the CPU fine-tune: every green training record (241) and non-green up to the cap.
FINETUNE_CAP = 384
GOLD = "hitl_gold_100"


def run(ctx: DemoContext) -> None:
    from patentlab.classify.baseline import FrozenEncoderClassifier, choose_c
    from patentlab.classify.data import capped_subset, load_gold, load_labeled, text_summary, without_texts
    from patentlab.classify.evaluate import ITERATIONS_JSON, evaluate
    from patentlab.classify.lexical import TfidfClassifier
    from patentlab.classify.prior import DefinitionPriorClassifier
    from patentlab.classify.train import TrainConfig, train
    from patentlab.classify.y02_scorer import Y02DefinitionScorer
    from patentlab.embed.encoder import unit_rows

    out = ctx.stage_dir("classify")
    splits = ctx.outputs.get("splits", ctx.stage_dir("splits"))
    finished = (
        "finetuned/model/classifier_head.pt",
        "baseline/baseline.json",
        "lexical/lexical.json",
        "prior/prior.json",
    )
    if ctx.done("classify", ITERATIONS_JSON, *finished):
        console.out.print(f"reusing {out}")
        print_iterations(out)
        ctx.outputs["classify"] = out
        return
    if ctx.fresh:  # otherwise an interrupted fine-tune resumes from its checkpoint
        shutil.rmtree(out, ignore_errors=True)
    gold = load_gold(sample_path(f"{GOLD}.csv"), weight=1.0)
    train_data, dropped = without_texts(load_labeled(splits / "train_silver.parquet"), gold.texts)
    eval_sets = {GOLD: gold, "eval_silver": load_labeled(splits / "eval_silver.parquet")}

    def measure(model, folder: str, method: str) -> None:
        """Evaluate on the gold and the sanity-check set; reports in ``folder``, rows in the table."""
        for name, data in eval_sets.items():
            report = out / folder / f"eval_{name}"
            print_metrics(evaluate(model, data, report, name=name, run_dir=out, method=method), report)

    kinds = ", ".join(f"{v:,} {k}" for k, v in sorted(train_data.text_kinds.items()))
    green = int(train_data.labels.sum())
    console.out.print(
        f"training data: {len(train_data):,} labelled records ({kinds}; {green:,} green), "
        f"{dropped} gold claims held out; test: the {len(gold)} human labels of {GOLD}.csv "
        f"({int(gold.labels.sum())} green)"
    )

    console.out.print(
        "[bold]Iteration 1[/bold]: frozen MiniLM + class-weighted logistic regression "
        "(embeddings are cached on disk; the first run encodes every text once)"
    )
    clf = FrozenEncoderClassifier("minilm", class_weight="balanced")
    embeddings = clf.embed(train_data.texts)
    c, scores = choose_c(embeddings, train_data.labels)
    console.out.print(
        "C by 5-fold CV on the training data (ROC-AUC): "
        + ", ".join(f"{k:g}: {v:.3f}" for k, v in scores.items())
        + f" -> C={c:g}"
    )
    clf.set_params(C=c)
    clf.fit_embeddings(embeddings, train_data.labels)
    clf.text_ = text_summary(train_data)
    clf.save_pretrained(out / "baseline")
    measure(clf, "baseline", "Frozen MiniLM + LR (weighted)")  # all labelled data, C by CV

    console.out.print(
        "[bold]Iteration 1b[/bold]: the Y02 definitions alone: a claim's cosine to its nearest "
        "official Y02 title (zero-shot), calibrated class-balanced on the training data"
    )
    scorer = Y02DefinitionScorer(class_weight="balanced")
    scorer.encoder_ = clf.load_encoder()  # the same encoder, so the same cached embeddings
    # Calibrated on the embeddings already in hand: the scorer shares the baseline's encoder.
    scorer.fit_margin(scorer.features_from_embeddings(unit_rows(embeddings))[:, 0], train_data.labels)
    scorer.save_pretrained(out / "y02_scorer")
    measure(scorer, "y02_scorer", "Y02-definition scorer")

    console.out.print(
        "[bold]Iteration 1c[/bold]: a lexical expert: TF-IDF over words and word pairs + "
        "class-weighted LR (C by 5-fold CV), calibrated class-balanced on its out-of-fold scores"
    )
    lexical = TfidfClassifier().fit(train_data.texts, train_data.labels)
    console.out.print(
        "C by 5-fold CV on the training data (ROC-AUC): "
        + ", ".join(f"{k:g}: {v:.3f}" for k, v in lexical.cv_auc_.items())
        + f" -> C={lexical.C_:g}"
    )
    lexical.save_pretrained(out / "lexical")
    measure(lexical, "lexical", "TF-IDF + LR (weighted)")

    console.out.print(
        "[bold]Iteration 1d[/bold]: the three as experts, the definitions as a prior: logit p_green = "
        "logit p_LR + logit p_definitions + logit p_TF-IDF (each calibrated class-balanced; "
        "nothing fitted on top)"
    )
    prior = DefinitionPriorClassifier(clf, scorer, lexical)
    prior.save_pretrained(out / "prior")
    measure(prior, "prior", "MiniLM LR + Y02 prior + TF-IDF")

    subset = capped_subset(train_data, FINETUNE_CAP)
    config = TrainConfig(base_model="minilm", **DEMO_TRAIN)
    console.out.print(
        f"[bold]Iteration 2[/bold]: fine-tune MiniLM + Linear(384, 2) on CPU on {len(subset)} records "
        f"({int(subset.labels.sum())} green, class-weighted loss; {config.epochs} epochs, "
        f"max_length {config.max_length}, lr {config.lr:g})"
    )
    result = train(
        subset, out / "finetuned", config, eval_data=eval_sets["eval_silver"], on_epoch=print_epoch
    )
    print_history(result.history, result.best_epoch)
    measure(result.model_dir, "finetuned", "Fine-tuned MiniLM (weighted)")  # capped, class-weighted
    print_iterations(out)
    console.out.print(
        f"[dim]Headline: kappa and ROC-AUC against the human labels of {GOLD}.csv (kept out of "
        "training). F1 there is shown beside 0.55, the F1 of predicting everything green.[/dim]"
    )
    ctx.outputs["classify"] = out
