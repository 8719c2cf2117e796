"""``patentlab classify …``: baseline, fine-tune, evaluate, predict, and the iteration table."""

from __future__ import annotations

from pathlib import Path

import typer

from patentlab import console

app = typer.Typer(
    help="The green-patent classifier: frozen baseline, fine-tuning, evaluation, prediction.",
    no_args_is_help=True,
)

MODEL_HELP = "Encoder: minilm, mpnet, a sentence-transformers hub id or a local folder."
TEXT_HELP = (
    "Which text of a record: auto (claims when present, else the abstract), claims, abstract, "
    "title+abstract or all. The model records it; evaluate/predict default to the model's."
)


def load_training(path: Path, text: str):
    """Labelled training texts, saying how many rows had an unknown (blank) label."""
    from patentlab.classify.data import load_labeled

    data = load_labeled(path, text=text)
    print_skipped(data, path)
    return data


def print_skipped(data, path: Path) -> None:
    """Say how many rows were skipped: a blank label is unknown, never "not green"."""
    if data.skipped_unknown:
        console.err.print(
            f"{path}: {data.skipped_unknown:,} rows with a blank (unknown) label skipped, "
            f"{len(data):,} labelled rows kept"
        )
    if data.skipped_no_text:
        console.err.print(f"{path}: {data.skipped_no_text:,} rows without {data.text} text skipped")


def print_epoch(row: dict) -> None:
    """One row of the card's "Training Progress" table, as it happens."""
    parts = [f"epoch {row['epoch']}", f"train loss {row['train_loss']:.4f}"]
    if "f1" in row:
        parts += [
            f"eval loss {row['eval_loss']:.4f}",
            f"acc {row['accuracy']:.2%}",
            f"P {row['precision']:.4f}",
            f"R {row['recall']:.4f}",
            f"F1 {row['f1']:.4f}",
        ]
    console.out.print("  ".join(parts))


def print_history(history: list[dict], best_epoch: int) -> None:
    header = ["Epoch", "Train Loss", "Eval Loss", "Accuracy", "Precision", "Recall", "F1"]
    rows = [
        [
            f"{r['epoch']}{' *' if r['epoch'] == best_epoch else ''}",
            f"{r['train_loss']:.4f}",
            *(
                [
                    f"{r['eval_loss']:.4f}",
                    f"{r['accuracy']:.2%}",
                    f"{r['precision']:.4f}",
                    f"{r['recall']:.4f}",
                    f"{r['f1']:.4f}",
                ]
                if "f1" in r
                else ["-"] * 5
            ),
        ]
        for r in history
    ]
    console.out.print(console.table("Training progress (* = kept)", header, rows))


def print_iterations(run_dir: Path) -> None:
    from patentlab.classify.evaluate import iteration_rows, read_iterations

    header, rows = iteration_rows(read_iterations(run_dir))
    console.out.print(console.table(f"Iteration table ({run_dir})", header, rows))


def print_metrics(metrics: dict, out_dir: Path) -> None:
    """One line per eval set: agreement first (kappa, AUC, MCC), then F1 beside the all-green F1."""
    from patentlab.classify.evaluate import SANITY_CHECK_BELOW
    from patentlab.classify.metrics import fmt

    sanity = " (sanity check only)" if metrics["n"] < SANITY_CHECK_BELOW else ""
    console.out.print(
        f"{metrics['eval_set']}{sanity}, n={metrics['n']}: kappa {fmt(metrics.get('kappa'), 3)}, "
        f"AUC {fmt(metrics.get('auc'), 3)}, MCC {fmt(metrics.get('mcc'), 3)}, "
        f"F1 (green) {metrics['f1']:.3f} (predicting all green: {metrics.get('all_green_f1', 0):.2f}), "
        f"predicted green {metrics.get('predicted_green', 0):.0%}  [dim]report: {out_dir / 'report.md'}[/dim]"
    )


def _eval_sets(eval_file: Path | None, gold: Path | None, text: str = "auto") -> list[tuple[str, object]]:
    from patentlab.classify.data import load_gold, load_labeled

    sets = []
    if eval_file is not None:
        sets.append((eval_file.stem, load_labeled(eval_file, text=text)))
    if gold is not None:
        sets.append((gold.stem, load_gold(gold, weight=1.0)))
    return sets


def _evaluate_sets(model, sets: list[tuple[str, object]], out: Path, run_dir: Path) -> None:
    """Evaluate a fitted model on each set (reports in OUT/eval_<name>) and show the table."""
    from patentlab.classify.evaluate import evaluate

    for name, eval_data in sets:
        metrics = evaluate(model, eval_data, out / f"eval_{name}", name=name, run_dir=run_dir)
        print_metrics(metrics, out / f"eval_{name}")
    if sets:
        print_iterations(run_dir)


def print_selection(result, test_name: str = "hitl_gold_100") -> None:
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
    console.out.print(console.table(f"Test: {test_name} (human labels; never used to choose)", header, body))
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


@app.command()
def baseline(
    train_file: Path = typer.Option(..., "--train", help="Labelled claims (e.g. train_silver.parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the fitted baseline."),
    eval_file: Path = typer.Option(None, "--eval", help="Labelled claims to evaluate on (eval_silver)."),
    gold: Path = typer.Option(None, help="Human gold labels to evaluate on (hitl_gold_100.csv)."),
    model: str = typer.Option("minilm", help=MODEL_HELP),
    class_weight: str = typer.Option(None, help="'balanced' to weight classes inversely to their size."),
    max_length: int = typer.Option(384, help="Tokens per claim."),
    bf16: bool = typer.Option(False, help="Encode in bf16 (about 2x faster on CPU)."),
    chunk: bool = typer.Option(False, help="Pool over windows of long claims instead of truncating."),
    text: str = typer.Option("auto", "--text", help=TEXT_HELP),
    run_dir: Path = typer.Option(None, help="Run folder with the iteration table (default: OUT's parent)."),
) -> None:
    """Iteration 1: frozen encoder embeddings + logistic regression."""
    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.data import text_summary

    data = load_training(train_file, text)
    sets = _eval_sets(eval_file, gold, text)
    clf = FrozenEncoderClassifier(
        model, max_length=max_length, dtype="bf16" if bf16 else "fp32", chunk=chunk, class_weight=class_weight
    )
    clf.fit(data.texts, data.labels)
    clf.text_ = text_summary(data)
    clf.save_pretrained(out)
    kinds = ", ".join(f"{k} {v:,}" for k, v in clf.text_["rows"].items())
    console.out.print(f"baseline fitted on {len(data):,} texts ({kinds}), saved to {out}")
    _evaluate_sets(clf, sets, out, run_dir or out.parent)


@app.command()
def experts(
    train_file: Path = typer.Option(..., "--train", help="Labelled texts (e.g. train_silver.parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the fitted model (prior.json, …)."),
    eval_file: Path = typer.Option(None, "--eval", help="Labelled texts to evaluate on (eval_silver)."),
    gold: Path = typer.Option(None, help="Human gold labels to evaluate on (hitl_gold_100.csv)."),
    model: str = typer.Option("minilm", help=MODEL_HELP),
    lexical: bool = typer.Option(True, help="Add the TF-IDF expert (words and word pairs)."),
    bf16: bool = typer.Option(False, help="Encode in bf16 (about 2x faster on CPU; MPNet: see docs)."),
    text: str = typer.Option("auto", "--text", help=TEXT_HELP),
    run_dir: Path = typer.Option(None, help="Run folder with the iteration table (default: OUT's parent)."),
) -> None:
    """The demo's final model: frozen LR + the Y02 definitions as a prior + TF-IDF, log-odds added."""
    from patentlab.classify.baseline import FrozenEncoderClassifier, choose_c
    from patentlab.classify.data import text_summary
    from patentlab.classify.lexical import TfidfClassifier
    from patentlab.classify.prior import DefinitionPriorClassifier

    data = load_training(train_file, text)
    sets = _eval_sets(eval_file, gold, text)
    baseline = FrozenEncoderClassifier(model, class_weight="balanced", dtype="bf16" if bf16 else "fp32")
    embeddings = baseline.embed(data.texts)
    c, _ = choose_c(embeddings, data.labels)
    baseline.set_params(C=c)
    clf = DefinitionPriorClassifier(baseline, lexical=TfidfClassifier() if lexical else None)
    clf.fit(data.texts, data.labels, embeddings=embeddings)
    baseline.text_ = text_summary(data)
    clf.save_pretrained(out)
    console.out.print(
        f"{' + '.join(clf.experts)} fitted on {len(data):,} texts (LR C={c:g} by 5-fold CV), saved to {out}"
    )
    _evaluate_sets(clf, sets, out, run_dir or out.parent)


@app.command()
def select(
    train_file: Path = typer.Option(
        ..., "--train", help="A split with 'id' and 'source' columns (e.g. train_silver.parquet)."
    ),
    gold: Path = typer.Option(..., help="Human gold labels: the test, read only after the choice."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for baseline/, selected/ and selection.json."),
    model: str = typer.Option("minilm", help=MODEL_HELP),
    max_length: int = typer.Option(128, help="Tokens per text for the frozen encoder."),
    n_boot: int = typer.Option(1000, help="Bootstrap draws for the 95% intervals."),
) -> None:
    """Choose C and the experts by leave-one-source-out CV on TRAIN (the simplest model the
    bootstrap cannot separate from the best), save it, and only then test it on GOLD."""
    from patentlab.classify.data import load_gold, without_texts
    from patentlab.classify.protocol import fast_encoder, run_protocol
    from patentlab.classify.selection import record_groups

    test = load_gold(gold, weight=1.0)
    data, dropped = without_texts(load_training(train_file, "auto"), test.texts)
    if dropped:
        console.out.print(f"{dropped} training texts are also in {gold}: held out of training")
    groups = record_groups(train_file, data.ids)
    result = run_protocol(
        data,
        groups,
        test,
        out,
        encoder=fast_encoder(model, max_length),
        test_name=gold.stem,
        n_boot=n_boot,
        on_step=lambda message: console.out.print(f"[bold]{message}[/bold]"),
    )
    print_selection(result)
    console.out.print(
        f"kept: {result.selected_dir}; serve it with: patentlab serve --model {result.selected_dir}"
    )


@app.command()
def train(
    train_file: Path = typer.Option(..., "--train", help="Labelled claims (e.g. train_silver.parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Training run folder (model/, history.json)."),
    eval_file: Path = typer.Option(None, "--eval", help="Evaluated every epoch; picks the best epoch."),
    gold: Path = typer.Option(None, help="Gold labels to train on (CSV/Parquet: text, is_green_human)."),
    gold_weight: float = typer.Option(5.0, help="Loss weight of each gold example (the card's 5x)."),
    gold_balance: bool = typer.Option(
        False, help="Split the gold weight so both classes weigh the same (mean stays --gold-weight)."
    ),
    eval_gold: Path = typer.Option(None, help="Gold labels to evaluate the final model on."),
    model: str = typer.Option("minilm", help=MODEL_HELP),
    epochs: int = typer.Option(3),
    batch_size: int = typer.Option(16),
    lr: float = typer.Option(2e-5),
    warmup_steps: int = typer.Option(100),
    weight_decay: float = typer.Option(0.01),
    max_length: int = typer.Option(384),
    y02_head: bool = typer.Option(False, help="Also train a multi-label head for Y02A…Y02W."),
    bf16: bool = typer.Option(False, help="bf16 autocast (helps on GPUs and CPUs with bf16 units)."),
    seed: int = typer.Option(42),
    text: str = typer.Option("auto", "--text", help=TEXT_HELP),
    class_weight: str = typer.Option(
        None, help="'balanced' to weight the loss by class (for unbalanced --balance weight splits)."
    ),
    run_dir: Path = typer.Option(None, help="Run folder with the iteration table (default: OUT's parent)."),
) -> None:
    """Fine-tune encoder + Linear(dim, 2) with the card's defaults; resumes if interrupted."""
    from patentlab.classify.data import class_weights, load_gold, load_labeled
    from patentlab.classify.evaluate import evaluate
    from patentlab.classify.train import TrainConfig
    from patentlab.classify.train import train as run_train
    from patentlab.embed.models import display_name
    from patentlab.errors import PatentlabError

    if class_weight not in (None, "balanced"):
        raise PatentlabError(f"--class-weight must be 'balanced' or left out, not '{class_weight}'")
    data = load_training(train_file, text)
    if class_weight:
        data.weights = class_weights(data.labels)
    if gold is not None:
        data = data.concat(load_gold(gold, weight=gold_weight, balance=gold_balance))
    eval_data = load_labeled(eval_file, text=text) if eval_file is not None else None
    config = TrainConfig(
        base_model=model,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        warmup_steps=warmup_steps,
        weight_decay=weight_decay,
        max_length=max_length,
        y02_head=y02_head,
        bf16=bf16,
        seed=seed,
    )
    result = run_train(data, out, config, eval_data=eval_data, on_epoch=print_epoch)
    if result.reused:
        console.out.print(f"reusing the finished run in {out}")
    print_history(result.history, result.best_epoch)
    method = f"Fine-tuned {display_name(model)} on silver" + (f" + gold (x{gold_weight:g})" if gold else "")
    run_dir = run_dir or out.parent
    for name, eval_set in _eval_sets(eval_file, eval_gold, text):
        metrics = evaluate(
            result.model_dir, eval_set, out / f"eval_{name}", name=name, run_dir=run_dir, method=method
        )
        print_metrics(metrics, out / f"eval_{name}")
    print_iterations(run_dir)


@app.command()
def evaluate(
    model: Path = typer.Option(..., "--model", "-m", help="A trained model or baseline folder."),
    data: Path = typer.Option(..., "--data", "-d", help="Labelled claims: a split, a gold file, any table."),
    out: Path = typer.Option(None, "--out", "-o", help="Report folder (default: MODEL/eval_<data name>)."),
    name: str = typer.Option(None, help="Name of the eval set in the iteration table."),
    method: str = typer.Option(None, help="Name of the method in the iteration table."),
    text: str = typer.Option(None, "--text", help=TEXT_HELP),
    run_dir: Path = typer.Option(None, help="Run folder with the iteration table (default: MODEL's parent)."),
) -> None:
    """Kappa, AUC, MCC, P/R/F1, report, confusion matrix and calibration PNGs; add an iteration row."""
    from patentlab.classify.data import check_model_text, load_labeled
    from patentlab.classify.evaluate import evaluate as run_evaluate
    from patentlab.classify.family import load_classifier
    from patentlab.tables import read_table

    classifier = load_classifier(model)
    choice = check_model_text(classifier, [str(c) for c in read_table(data).columns], text, data)
    dataset = load_labeled(data, prefer_human=True, text=choice)
    print_skipped(dataset, data)
    name = name or data.stem
    out = out or model / f"eval_{name}"
    run_dir = run_dir or model.parent
    metrics = run_evaluate(classifier, dataset, out, name=name, run_dir=run_dir, method=method)
    console.out.print(metrics["report"])
    console.out.print(metrics_confusion(metrics))
    print_metrics(metrics, out)
    print_iterations(run_dir)


def metrics_confusion(metrics: dict) -> str:
    from patentlab.classify.metrics import confusion_text

    return confusion_text(metrics["confusion_matrix"])


@app.command()
def predict(
    input_file: Path = typer.Argument(..., help="CSV, Parquet or JSONL with a 'text' (or 'claims') column."),
    model: Path = typer.Option(..., "--model", "-m", help="A trained model or baseline folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (.csv, .parquet or .jsonl)."),
    text_column: str = typer.Option(None, help="A column to read the text from (overrides --text)."),
    text: str = typer.Option(None, "--text", help=TEXT_HELP),
    batch_size: int = typer.Option(256, help="Rows per batch (memory stays flat on large inputs)."),
    threshold: float = typer.Option(0.5, help="label = 1 when p_green >= threshold."),
) -> None:
    """Add p_green and label to every row; bad rows are reported by row number and skipped."""
    from patentlab.classify.predict import predict_file

    report = predict_file(
        model,
        input_file,
        out,
        text_column=text_column,
        text=text,
        batch_size=batch_size,
        threshold=threshold,
    )
    for column in report.replaced_columns:
        console.err.print(f"note: the input's '{column}' column was replaced by the prediction")
    for row, reason in report.skipped:
        console.err.print(f"skipped {input_file}: row {row}: {reason}")
    console.out.print(
        f"{report.written:,} of {report.rows:,} rows classified ({report.green:,} green), "
        f"{len(report.skipped):,} skipped; written to {out}"
    )


@app.command()
def iterations(run_dir: Path = typer.Argument(..., help="A run folder holding iterations.json.")) -> None:
    """Show the iteration table: baseline vs each fine-tuned model, F1 on the same eval sets."""
    from patentlab.errors import PatentlabError

    if not (run_dir / "iterations.json").exists():
        raise PatentlabError("no iteration table here (iterations.json)", path=run_dir)
    print_iterations(run_dir)
