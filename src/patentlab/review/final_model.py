"""The loop's last step: gold labels from review train the final classifier, and the card's table.

Three iterations, each measured on the same eval set:

1. the frozen-encoder + logistic-regression baseline, trained on silver;
2. encoder + linear head fine-tuned on silver + gold labels from a single LLM;
3. the same fine-tune on silver + gold labels from the multi-agent system and human review.

Gold examples weigh ``gold_weight`` (the card's ×5) in the loss. Both fine-tunes share every
setting and seed, so the rows differ only in where the gold labels came from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from patentlab import console
from patentlab.errors import PatentlabError
from patentlab.review.gold import export_gold
from patentlab.review.store import ReviewStore

#: The published annotator of ``hitl_gold_100.csv``; their labels enter the store under this name.
BUNDLED_REVIEWER = "gold_100_expert"


@dataclass
class FinalRun:
    """Where each iteration's model and report went, and its metrics on the eval set."""

    out_dir: Path
    rows: list[dict]
    gold_file: Path


def gold_through_review(
    gold_csv: str | Path, out_dir: str | Path, *, reviewer: str = BUNDLED_REVIEWER
) -> Path:
    """Route recorded human labels through the review store and export them as gold.

    The queue (claims with the LLM's suggestion and rationale) and the human labels both come from
    ``gold_csv`` (``doc_id, text, …, llm_green_suggested, is_green_human, human_notes``). Each label
    is recorded as ``reviewer``'s decision with a stable request id, so a re-run adds nothing.
    """
    from patentlab.tables import read_table

    out_dir = Path(out_dir)
    frame = read_table(gold_csv)
    for column in ("doc_id", "text", "is_green_human"):
        if column not in frame.columns:
            raise PatentlabError(f"the gold file needs a '{column}' column", path=gold_csv)
    with ReviewStore(out_dir / "review.db") as store:
        store.import_queue(frame, wanted_reviews=1, source_name=Path(gold_csv).name)
        if store.reviewer(reviewer) is None:
            store.add_reviewer(reviewer, token=True)
        notes = frame["human_notes"] if "human_notes" in frame.columns else [""] * len(frame)
        for row, (doc_id, label, note) in enumerate(
            zip(frame["doc_id"], frame["is_green_human"], notes, strict=True), 1
        ):
            try:
                label = int(float(label))
            except (TypeError, ValueError):
                label = -1
            if label not in (0, 1):
                raise PatentlabError("is_green_human must be 0 or 1", path=gold_csv, row=row)
            note = note if isinstance(note, str) else ""
            store.decide(reviewer, str(doc_id), label, note=note[:2000], request_id=f"{reviewer}:{doc_id}")
        gold_file = out_dir / "gold_labels.parquet"
        export_gold(store, gold_file, policy="admin")
    return gold_file


def run_final_iterations(
    train_file: str | Path,
    eval_file: str | Path,
    gold_csv: str | Path,
    out_dir: str | Path,
    *,
    config=None,
    gold_weight: float = 5.0,
    balance_gold: bool = True,
    baseline_dir: str | Path | None = None,
    max_silver: int | None = None,
) -> FinalRun:
    """Train and evaluate the three iterations; the table lands in ``out_dir/iterations.json``.

    Args:
        train_file: silver training claims (``train_silver.parquet``).
        eval_file: the eval set every row is measured on (``eval_silver.parquet``).
        gold_csv: reviewed claims with ``llm_green_suggested`` (single LLM) and ``is_green_human``.
        out_dir: run folder (models, reports, review.db, gold_labels.parquet, iterations.*).
        config: a :class:`patentlab.classify.train.TrainConfig` for both fine-tunes.
        gold_weight: mean loss weight of a gold claim (the card's ×5).
        balance_gold: give both gold classes the same total weight (see
            :func:`patentlab.classify.data.gold_weights`); on by default because the bundled
            silver set is small enough for the gold's class mix to set the prior.
        baseline_dir: a fitted baseline to re-measure instead of fitting one (from the classify step).
        max_silver: fine-tune on at most this many silver records (every green one first, the
            classes weighted equally; see :func:`patentlab.classify.data.capped_subset`), for a
            short CPU run on a ``--balance weight`` split that keeps every labelled record.
    """
    from patentlab.classify.baseline import BASELINE_FILE, FrozenEncoderClassifier
    from patentlab.classify.data import capped_subset, class_weights, gold_weights, load_gold, load_labeled
    from patentlab.classify.evaluate import evaluate
    from patentlab.classify.train import TrainConfig, train

    out = Path(out_dir)
    config = config or TrainConfig()
    silver = load_labeled(train_file)
    if max_silver is not None and len(silver) > max_silver:
        silver = capped_subset(silver, max_silver)
    elif len(set(silver.labels.tolist())) == 2 and abs(silver.labels.mean() - 0.5) > 0.1:
        silver.weights = class_weights(silver.labels)  # an unbalanced (weight-policy) split
    eval_data = load_labeled(eval_file)
    eval_name = Path(eval_file).stem
    base_name = Path(config.base_model).name
    human_gold = load_labeled(gold_csv, prefer_human=True)
    overlap = set(eval_data.texts) & set(human_gold.texts)
    if overlap:
        raise PatentlabError(
            f"{len(overlap)} gold claims are also in the eval set; drop them first", path=gold_csv
        )

    rows = []
    if baseline_dir is not None and (Path(baseline_dir) / BASELINE_FILE).exists():
        console.out.print(
            f"[bold]Iteration 1[/bold]: the baseline from {baseline_dir}, measured on {eval_name}"
        )
        baseline = FrozenEncoderClassifier.from_pretrained(baseline_dir)
    else:
        console.out.print(
            f"[bold]Iteration 1[/bold]: frozen {base_name} + logistic regression on {len(silver)} claims"
        )
        baseline = FrozenEncoderClassifier(config.base_model, class_weight="balanced")
        baseline.fit(silver.texts, silver.labels)
        baseline.save_pretrained(out / "baseline")
    rows.append(
        evaluate(
            baseline,
            eval_data,
            out / "baseline" / f"eval_{eval_name}",
            name=eval_name,
            run_dir=out,
            method=f"Frozen {base_name} + Logistic Regression",
        )
    )

    gold_file = gold_through_review(gold_csv, out)
    single_llm = load_labeled(gold_csv, label_column="llm_green_suggested")
    single_llm.weights = gold_weights(single_llm.labels, gold_weight, balance=balance_gold)
    single_llm.y02 = None
    mas_hitl = load_gold(gold_file, weight=gold_weight, balance=balance_gold)
    changed = int((single_llm.labels != human_gold.labels).sum())
    console.out.print(
        f"gold: {len(mas_hitl)} claims through the review store ({gold_file}); the human labels "
        f"differ from the single LLM's on {changed}"
    )

    balanced = ", class-balanced" if balance_gold else ""
    for number, (tag, gold, what) in enumerate(
        [("single_llm", single_llm, "single LLM"), ("mas_hitl", mas_hitl, "MAS + HITL")], start=2
    ):
        data = silver.concat(gold)
        console.out.print(
            f"[bold]Iteration {number}[/bold]: fine-tune {base_name} on {len(silver)} silver + "
            f"{len(gold)} gold ({what}, x{gold_weight:g}{balanced}); {config.epochs} epochs, "
            f"max_length {config.max_length}"
        )
        result = train(data, out / f"finetuned_{tag}", replace(config), eval_data=eval_data)
        method = f"Fine-tuned {base_name} on silver + gold ({what}, x{gold_weight:g}{balanced})"
        rows.append(
            evaluate(
                result.model_dir,
                eval_data,
                out / f"finetuned_{tag}" / f"eval_{eval_name}",
                name=eval_name,
                run_dir=out,
                method=method,
            )
        )
    return FinalRun(out_dir=out, rows=rows, gold_file=gold_file)


def split_gold(labels, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of the gold, stratified: the first trains (×5), the second tests.

    The HITL gold is also the test set of the classify stage. A model trained on it cannot be
    measured on it, so the final model learns from one half and is reported on the other, beside
    the frozen models measured on that same half.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train = np.zeros(len(labels), dtype=bool)
    for cls in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        train[rows[: len(rows) // 2]] = True
    return np.flatnonzero(train), np.flatnonzero(~train)


@dataclass
class ReviewModel:
    """The review stage's final model and its figures on the held-out half of the gold."""

    model_dir: Path
    rows: dict[str, dict]  # method -> kappa/AUC with intervals on the held-out gold half
    train_size: int
    gold_train: int
    gold_test: int
    seconds: float


def train_review_model(
    train,
    gold,
    out_dir: str | Path,
    *,
    config=None,
    gold_weight: float = 5.0,
    compare: dict[str, str | Path] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> ReviewModel:
    """Fine-tune encoder + head on ``train`` + half the HITL gold (×``gold_weight``), class-weighted.

    The seed's final recipe (issue 23): every labelled record, class-weighted loss, gold ×5, one
    epoch at 128 tokens. It is measured on the other half of the gold with bootstrap 95 %
    intervals, as is each model in ``compare`` (name -> model folder), on exactly that half.
    Writes ``out_dir/model`` (the card's format) and ``out_dir/final.json``.
    """
    from patentlab.classify.data import class_weights, gold_weights
    from patentlab.classify.family import load_classifier
    from patentlab.classify.intervals import with_intervals
    from patentlab.classify.train import TrainConfig
    from patentlab.classify.train import train as fine_tune
    from patentlab.storage import write_json

    out = Path(out_dir)
    config = config or TrainConfig(epochs=1, max_length=128, lr=5e-5, warmup_steps=10)
    train_half, test_half = split_gold(gold.labels, seed)
    gold_train, gold_test = gold.subset(train_half), gold.subset(test_half)
    gold_train.weights = gold_weights(gold_train.labels, gold_weight, balance=True)
    gold_train.y02 = None
    records = train.subset(np.arange(len(train)))
    records.weights = class_weights(records.labels)
    data = records.concat(gold_train)
    result = fine_tune(data, out, config, show_progress=True)
    rows = {}
    models = {f"fine-tuned {Path(config.base_model).name} + gold x{gold_weight:g} (final)": result.model_dir}
    models.update(compare or {})
    for name, folder in models.items():
        model = load_classifier(folder)
        p = model.predict_proba(gold_test.texts)[:, 1]
        rows[name] = {"model": str(folder), **with_intervals(gold_test.labels, p, n_boot=n_boot, seed=seed)}
    review = ReviewModel(
        result.model_dir, rows, len(records), len(gold_train), len(gold_test), result.seconds
    )
    write_json(
        out / "final.json",
        {
            "train_records": review.train_size,
            "gold_train": review.gold_train,
            "gold_test": review.gold_test,
            "seconds": review.seconds,
            "config": vars(config),
            "rows": rows,
            "note": "figures on the held-out half of hitl_gold_100 (the other half trained the model)",
        },
    )
    return review
