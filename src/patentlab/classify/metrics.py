"""Evaluation of green / non-green predictions: the card's metrics, report text and plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from patentlab.storage import atomic_path, write_json, write_text

TARGET_NAMES = ("Non-Green (0)", "Green (1)")


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's kappa of two raters' 0/1 labels on the same items; None when undefined.

    Kappa is undefined when chance agreement is 1 (both raters gave one and the same label to
    every item), where ``(po - pe) / (1 - pe)`` divides by zero. sklearn's ``cohen_kappa_score``
    returns NaN there with a warning; None says "undefined" without either.
    """
    a, b = np.asarray(a, dtype=int), np.asarray(b, dtype=int)
    if len(a) != len(b):
        raise ValueError("the two raters must label the same items")
    n = len(a)
    if n == 0:
        return None
    observed = float(np.mean(a == b))
    pa, pb = float(a.mean()), float(b.mean())
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected >= 1.0:
        return None
    return float((observed - expected) / (1 - expected))


def all_green_f1(y_true: Sequence[int]) -> float:
    """F1 (green) of the trivial rule "everything is green": 2p / (1 + p) for a green share p.

    On ``hitl_gold_100.csv`` (38 % green) it is 0.55, so an F1 near 0.55 there says nothing.
    """
    y = np.asarray(y_true, dtype=int)
    p = float(y.mean()) if len(y) else 0.0
    return 2 * p / (1 + p) if p else 0.0


def agreement_metrics(y_true: Sequence[int], p_green: Sequence[float], threshold: float = 0.5) -> dict:
    """Cohen's kappa, ROC-AUC, MCC, F1 (green) and the share predicted green.

    Agreement with human labels is the headline: kappa and MCC are 0 for any constant or random
    rule, AUC is 0.5 for any ranking unrelated to the labels. AUC and kappa are None when
    ``y_true`` holds one class only.
    """
    from sklearn.metrics import f1_score, matthews_corrcoef, roc_auc_score

    y = np.asarray(y_true, dtype=int)
    p = np.asarray(p_green, dtype=float)
    pred = (p >= threshold).astype(int)
    both = len(np.unique(y)) == 2
    return {
        "kappa": cohen_kappa(y.tolist(), pred.tolist()),
        "auc": float(roc_auc_score(y, p)) if both else None,
        "mcc": float(matthews_corrcoef(y, pred)) if len(y) else None,
        "f1": float(f1_score(y, pred, pos_label=1, zero_division=0)),
        "predicted_green": float(pred.mean()) if len(pred) else 0.0,
        "all_green_f1": all_green_f1(y),
    }


def binary_metrics(y_true: Sequence[int], p_green: Sequence[float], threshold: float = 0.5) -> dict:
    """Accuracy, per-class and averaged P/R/F1, log loss, the confusion matrix and sklearn's report."""
    from sklearn.metrics import (
        accuracy_score,
        brier_score_loss,
        classification_report,
        confusion_matrix,
        log_loss,
        precision_recall_fscore_support,
    )

    y = np.asarray(y_true, dtype=int)
    p = np.clip(np.asarray(p_green, dtype=float), 1e-7, 1 - 1e-7)
    pred = (p >= threshold).astype(int)
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
    averages = {}
    for avg in ("macro", "weighted"):
        a_p, a_r, a_f, _ = precision_recall_fscore_support(
            y, pred, labels=[0, 1], average=avg, zero_division=0
        )
        averages[avg] = {"precision": float(a_p), "recall": float(a_r), "f1": float(a_f)}
    per_class = {
        name: {
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(("non_green", "green"))
    }
    agree = agreement_metrics(y, p, threshold)
    return {
        "n": len(y),
        "accuracy": float(accuracy_score(y, pred)),
        "kappa": agree["kappa"],
        "auc": agree["auc"],
        "mcc": agree["mcc"],
        "predicted_green": agree["predicted_green"],
        "all_green_f1": agree["all_green_f1"],
        "precision": per_class["green"]["precision"],
        "recall": per_class["green"]["recall"],
        "f1": per_class["green"]["f1"],
        "f1_macro": averages["macro"]["f1"],
        "f1_weighted": averages["weighted"]["f1"],
        "loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "per_class": per_class,
        "averages": averages,
        "confusion_matrix": confusion_matrix(y, pred, labels=[0, 1]).tolist(),
        "report": classification_report(
            y, pred, labels=[0, 1], target_names=list(TARGET_NAMES), digits=4, zero_division=0
        ),
    }


def multilabel_metrics(y_true: np.ndarray, scores: np.ndarray, categories: Sequence[str]) -> dict:
    """Per-category precision, recall, F1 and support for a multi-label (Y02A…Y02W) prediction."""
    from sklearn.metrics import precision_recall_fscore_support

    pred = (np.asarray(scores) >= 0.5).astype(int)
    prec, rec, f1, support = precision_recall_fscore_support(
        np.asarray(y_true, dtype=int), pred, zero_division=0
    )
    return {
        cat: {
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, cat in enumerate(categories)
    }


def confusion_text(matrix: Sequence[Sequence[int]]) -> str:
    """The confusion matrix as a Markdown table, laid out like the card's."""
    (tn, fp), (fn, tp) = matrix
    return (
        "| | Pred Non-Green | Pred Green |\n|---|---|---|\n"
        f"| Actual Non-Green | {tn} | {fp} |\n| Actual Green | {fn} | {tp} |\n"
    )


def _save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_confusion(matrix: Sequence[Sequence[int]], path: Path, title: str) -> None:
    """Confusion matrix heat map as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(m, cmap="Greens")
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > m.max() / 2 else "black")
    ax.set_xticks([0, 1], ["Pred Non-Green", "Pred Green"])
    ax.set_yticks([0, 1], ["Actual Non-Green", "Actual Green"])
    ax.set_title(title)
    _save_figure(fig, path)


def plot_calibration(y_true: Sequence[int], p_green: Sequence[float], path: Path, title: str) -> None:
    """Reliability diagram (predicted p_green against the observed share of green) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    n_bins = int(min(10, max(2, len(y_true) // 10)))
    observed, predicted = calibration_curve(y_true, p_green, n_bins=n_bins, strategy="quantile")
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfectly calibrated")
    ax.plot(predicted, observed, marker="o", color="green", label="model")
    ax.set_xlabel("predicted p_green")
    ax.set_ylabel("observed share green")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    ax.set_title(title)
    _save_figure(fig, path)


def fmt(value: float | None, digits: int = 4) -> str:
    """A metric for a table; "n/a" when it is undefined (one class only)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def report_markdown(metrics: dict, title: str) -> str:
    """The evaluation as Markdown: headline metrics, sklearn's report and the confusion matrix."""
    lines = [
        f"# {title}",
        "",
        "| Metric | Score |",
        "|---|---|",
        f"| Examples | {metrics['n']} |",
        f"| Cohen's kappa | {fmt(metrics.get('kappa'))} |",
        f"| ROC-AUC | {fmt(metrics.get('auc'))} |",
        f"| MCC | {fmt(metrics.get('mcc'))} |",
        f"| Accuracy | {metrics['accuracy']:.2%} |",
        f"| F1 Score (Green) | {metrics['f1']:.4f} (all green: {metrics.get('all_green_f1', 0):.2f}) |",
        f"| Predicted green | {metrics.get('predicted_green', 0):.0%} |",
        f"| Precision (Green) | {metrics['precision']:.4f} |",
        f"| Recall (Green) | {metrics['recall']:.4f} |",
        f"| F1 Macro | {metrics['f1_macro']:.4f} |",
        f"| F1 Weighted | {metrics['f1_weighted']:.4f} |",
        f"| Log loss | {metrics['loss']:.4f} |",
        f"| Brier score | {metrics['brier']:.4f} |",
        "",
        "```",
        metrics["report"].rstrip(),
        "```",
        "",
        "Confusion matrix:",
        "",
        confusion_text(metrics["confusion_matrix"]),
        "![confusion matrix](confusion_matrix.png) ![calibration](calibration.png)",
    ]
    if metrics.get("y02"):
        lines += [
            "",
            "Y02 categories (multi-label head):",
            "",
            "| Category | Precision | Recall | F1 | Support |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {c} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | {m['support']} |"
            for c, m in metrics["y02"].items()
        ]
    return "\n".join(lines) + "\n"


def write_report(
    metrics: dict, y_true: Sequence[int], p_green: Sequence[float], out_dir: str | Path, title: str
) -> Path:
    """Write ``report.json``, ``report.md``, ``confusion_matrix.png`` and ``calibration.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "report.json", metrics)
    write_text(out / "report.md", report_markdown(metrics, title))
    plot_confusion(metrics["confusion_matrix"], out / "confusion_matrix.png", title)
    plot_calibration(y_true, p_green, out / "calibration.png", title)
    return out
