"""Evaluate any patentlab classifier on a labelled file, and keep the iteration table.

``load_classifier`` is :func:`patentlab.classify.family.load_classifier`, re-exported here for
the callers that import it from this module.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from patentlab.classify.data import LabeledTexts, default_text, load_labeled
from patentlab.classify.family import Classifier, predict
from patentlab.classify.family import load_classifier as load_classifier  # re-exported
from patentlab.classify.metrics import binary_metrics, multilabel_metrics, write_report
from patentlab.storage import write_json, write_text

ITERATIONS_JSON = "iterations.json"
ITERATIONS_MD = "iterations.md"


def describe(model: Any) -> str:
    """A short method name for the iteration table."""
    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.lexical import TfidfClassifier
    from patentlab.classify.prior import DefinitionPriorClassifier
    from patentlab.classify.y02_scorer import DefinitionAugmentedClassifier, Y02DefinitionScorer
    from patentlab.embed.models import display_name

    if isinstance(model, FrozenEncoderClassifier):
        return f"Frozen {display_name(model.model)} + LR"
    if isinstance(model, DefinitionPriorClassifier):
        prior = " + Y02 prior" if model.definitions else ""
        lexical = " + TF-IDF" if model.lexical is not None else ""
        return f"{display_name(model.baseline_.model)} LR{prior}{lexical}"
    if isinstance(model, TfidfClassifier):
        return "TF-IDF + LR (weighted)"
    if isinstance(model, Y02DefinitionScorer):
        return "Y02-definition scorer"
    if isinstance(model, DefinitionAugmentedClassifier):
        return f"{display_name(model.model)} + Y02 features + LR"
    from patentlab.classify.model import GreenClassifier  # imports torch: only when needed

    if isinstance(model, GreenClassifier):
        return f"Fine-tuned {display_name(model.base_model)}"
    return type(model).__name__  # a kind registered later


def evaluate(
    model: Classifier | str | Path,
    data: LabeledTexts | str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    run_dir: str | Path | None = None,
    method: str | None = None,
    show_progress: bool = True,
) -> dict:
    """Evaluate ``model`` (object or folder) on ``data``; write the report; add an iteration row.

    Writes ``report.md``, ``report.json``, ``confusion_matrix.png`` and ``calibration.png`` into
    ``out_dir``. With ``run_dir``, the result joins that run's iteration table.
    """
    if isinstance(model, (str, Path)):
        model_path = str(model)
        model = load_classifier(model)
    else:
        model_path = ""
    if not isinstance(data, LabeledTexts):
        data = load_labeled(data, text=default_text(model, None))
    name = name or Path(data.source).stem or "eval"
    method = method or describe(model)
    prediction = predict(model, data.texts, show_progress=show_progress)
    probs, y02 = prediction.proba, prediction.y02
    metrics = binary_metrics(data.labels, probs[:, 1])
    if y02 is not None and data.y02 is not None:
        from patentlab.corpus.schema import Y02_CATEGORIES

        metrics["y02"] = multilabel_metrics(data.y02, y02, Y02_CATEGORIES)
    metrics.update(eval_set=name, method=method, model=model_path)
    write_report(metrics, data.labels, probs[:, 1], out_dir, f"{method} on {name}")
    if run_dir is not None:
        add_iteration(run_dir, metrics)
    return metrics


def read_iterations(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / ITERATIONS_JSON
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def add_iteration(run_dir: str | Path, metrics: dict) -> list[dict]:
    """Add (or replace: same method, model and eval set) one row of the iteration table."""
    rows = read_iterations(run_dir)
    row = {
        "method": metrics["method"],
        "model": metrics.get("model", ""),
        "eval_set": metrics["eval_set"],
        "n": metrics["n"],
        "accuracy": metrics["accuracy"],
        "kappa": metrics.get("kappa"),
        "auc": metrics.get("auc"),
        "mcc": metrics.get("mcc"),
        "predicted_green": metrics.get("predicted_green"),
        "all_green_f1": metrics.get("all_green_f1"),
        "f1": metrics["f1"],
        "f1_macro": metrics["f1_macro"],
        "precision": metrics["precision"],
        "recall": metrics["recall"],
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    key = (row["method"], row["model"], row["eval_set"])
    rows = [r for r in rows if (r["method"], r["model"], r["eval_set"]) != key] + [row]
    write_json(Path(run_dir) / ITERATIONS_JSON, rows)
    write_text(Path(run_dir) / ITERATIONS_MD, iterations_markdown(rows))
    return rows


#: How many examples an eval set needs before its figures mean more than a sanity check.
SANITY_CHECK_BELOW = 100


def eval_set_label(row: dict) -> str:
    """The eval set's name, marked as a sanity check when it is too small to measure anything."""
    name = row["eval_set"]
    return f"{name} (sanity check)" if row["n"] < SANITY_CHECK_BELOW else name


def iteration_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the iteration table, numbered in the order the iterations were added.

    Agreement with the labels (Cohen's kappa, ROC-AUC, MCC) comes first; F1 (green) is shown with
    the F1 that predicting "all green" gets on the same set (0.55 on ``hitl_gold_100.csv``).
    """
    from patentlab.classify.metrics import fmt

    header = [
        "Iteration", "Method", "Eval set", "n", "kappa", "AUC", "MCC",
        "F1 [all green]", "Pred. green", "Acc.",
    ]  # fmt: skip
    numbers: dict[str, int] = {}
    body = []
    for r in rows:
        number = numbers.setdefault(r["method"] + r["model"], len(numbers) + 1)
        all_green = r.get("all_green_f1")
        predicted = r.get("predicted_green")
        body.append(
            [
                str(number),
                r["method"],
                eval_set_label(r),
                str(r["n"]),
                fmt(r.get("kappa"), 3),
                fmt(r.get("auc"), 3),
                fmt(r.get("mcc"), 3),
                f"{r['f1']:.3f}" + (f" [{all_green:.2f}]" if all_green is not None else ""),
                f"{predicted:.0%}" if predicted is not None else "n/a",
                f"{r['accuracy']:.2%}",
            ]
        )
    return header, body


def iterations_markdown(rows: list[dict]) -> str:
    header, body = iteration_rows(rows)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"
