"""F1 (green) and macro F1 of the classifiers on one fixed protocol over the bundled real data.

Protocol (fixed, seeded):

* Data: the demo's balanced sample, i.e. every green claim of the bundled labelled sources (105)
  plus 105 non-green claims drawn with seed 42 (``patentlab corpus split`` defaults: the union of
  train_silver, eval_silver and pool_unlabeled). Labels are silver (CPC Y02).
* A. Repeated stratified 5-fold cross-validation on those 210 claims, with shuffling seeds
  ``--cv-seeds`` (0 1 2 by default): every model is trained on 168 claims and scored on 42, and
  the table gives mean ± std over the folds. Fine-tuning is slow on CPU, so it runs on the first
  ``--finetune-folds`` folds of ``--finetune-seeds`` only (all 5 folds of seed 0 by default).
* B. Train on all 210, test on the 100 human gold labels (``hitl_gold_100.csv``: claims a frozen
  baseline found hardest, 38 green).

Models: TF-IDF (word 1-2 grams) + LR; frozen MiniLM + LR (truncated at 384, and chunk-and-pool);
frozen MPNet + LR; fine-tuned MiniLM + Linear(384, 2). All LRs use C=1 and max_iter 2000.

    .venv/bin/python benchmarks/bench_classify.py [--cv-seeds 0 1 2] [--finetune-seeds 0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import machine, now, update_section

from patentlab.data import sample_path

#: A short fine-tune that fits a 2-core CPU; the card's defaults are for 40,000 claims.
FINETUNE = {"epochs": 3, "max_length": 128, "lr": 5e-5, "warmup_steps": 3, "batch_size": 16}


def balanced_sample(workdir: Path):
    from patentlab.classify.data import load_labeled
    from patentlab.corpus.demo import DEMO_SOURCES
    from patentlab.corpus.ingest import ingest
    from patentlab.corpus.split import SPLITS, split_corpus

    ingest([str(sample_path(n)) for n in DEMO_SOURCES], workdir / "corpus", on_duplicate="skip")
    split_corpus(workdir / "corpus", workdir / "splits", seed=42)
    parts = [load_labeled(workdir / "splits" / f"{name}.parquet") for name in SPLITS]
    data = parts[0]
    for part in parts[1:]:
        data = data.concat(part)
    return data


def f1_scores(y_true, p_green) -> tuple[float, float]:
    from sklearn.metrics import f1_score

    pred = (np.asarray(p_green) >= 0.5).astype(int)
    return f1_score(y_true, pred), f1_score(y_true, pred, average="macro")


def lr_scores(x_train, y_train, x_test, y_test) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1.0, max_iter=2000).fit(x_train, y_train)
    return f1_scores(y_test, lr.predict_proba(x_test)[:, 1])


def tfidf_scores(train_texts, y_train, test_texts, y_test) -> tuple[float, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    return lr_scores(vec.fit_transform(train_texts), y_train, vec.transform(test_texts), y_test)


def finetune_scores(data, train_idx, test_texts, y_test, workdir: Path) -> tuple[float, float]:
    from patentlab.classify.data import LabeledTexts
    from patentlab.classify.model import GreenClassifier
    from patentlab.classify.train import TrainConfig, train

    subset = LabeledTexts(
        texts=[data.texts[i] for i in train_idx],
        labels=data.labels[train_idx],
        ids=[data.ids[i] for i in train_idx],
    )
    # No eval set inside the fold: the last epoch is kept, so the test fold is never peeked at.
    result = train(subset, workdir, TrainConfig(base_model="minilm", **FINETUNE), show_progress=True)
    model = GreenClassifier.from_pretrained(result.model_dir, device="cpu")
    return f1_scores(y_test, model.predict_proba(test_texts, show_progress=True)[:, 1])


def finetune_note(folds: int, seeds: str, done: int) -> str:
    if done == 0:
        return (
            "Fine-tuning was too slow for the CV on this shared CPU (1-minute load average "
            f"{os.getloadavg()[0]:.0f} at the end of the run), so it ran for protocol B only."
        )
    return f"Fine-tuning ran on the first {folds} folds of seed(s) {seeds} only ({done} folds)."


def main() -> None:
    from sklearn.model_selection import StratifiedKFold

    from patentlab.classify.data import load_gold
    from patentlab.embed.encoder import Encoder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--finetune-seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--finetune-folds", type=int, default=5, help="fine-tune on the first K folds only")
    parser.add_argument("--skip-mpnet", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = balanced_sample(work)
        gold = load_gold(sample_path("hitl_gold_100.csv"), weight=1.0)
        all_texts = data.texts + gold.texts
        encoders = {
            "Frozen MiniLM + LR (truncate at 384)": Encoder("minilm", max_length=384),
            "Frozen MiniLM + LR (chunk-and-pool, 384)": Encoder("minilm", max_length=384, chunk=True),
        }
        if not args.skip_mpnet:
            encoders["Frozen MPNet + LR (bf16, truncate at 384)"] = Encoder(
                "mpnet", max_length=384, dtype="bf16"
            )
        embeddings = {name: enc.encode(all_texts, description=name) for name, enc in encoders.items()}
        n = len(data)
        y = data.labels

        cv: dict[str, list[tuple[float, float]]] = {"TF-IDF + LR": [], **{k: [] for k in encoders}}
        cv["Fine-tuned MiniLM"] = []
        for seed in args.cv_seeds:
            folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed).split(np.zeros(n), y)
            for fold, (tr, te) in enumerate(folds):
                cv["TF-IDF + LR"].append(
                    tfidf_scores([data.texts[i] for i in tr], y[tr], [data.texts[i] for i in te], y[te])
                )
                for name, emb in embeddings.items():
                    cv[name].append(lr_scores(emb[tr], y[tr], emb[te], y[te]))
                if seed in args.finetune_seeds and fold < args.finetune_folds:
                    scores = finetune_scores(
                        data, tr, [data.texts[i] for i in te], y[te], work / f"ft{seed}_{fold}"
                    )
                    cv["Fine-tuned MiniLM"].append(scores)
                    print(
                        f"fine-tuned fold {seed}/{fold}: F1 {scores[0]:.4f}, macro F1 {scores[1]:.4f}",
                        flush=True,
                    )

        everything = np.arange(n)
        gold_scores = {
            "TF-IDF + LR": tfidf_scores(data.texts, y, gold.texts, gold.labels),
            **{name: lr_scores(emb[:n], y, emb[n:], gold.labels) for name, emb in embeddings.items()},
        }
        if args.finetune_seeds:
            gold_scores["Fine-tuned MiniLM"] = finetune_scores(
                data, everything, gold.texts, gold.labels, work / "ft_all"
            )
        tokenizer = encoders["Frozen MiniLM + LR (truncate at 384)"].tokenizer
        lengths = np.array([len(ids) for ids in tokenizer(data.texts, verbose=False)["input_ids"]])
        long_share = float(np.mean(lengths > 384))

    def cell(scores: list[tuple[float, float]], k: int) -> str:
        if not scores:
            return "–"
        values = np.array([s[k] for s in scores])
        return f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"

    seeds = " ".join(map(str, args.cv_seeds))
    ft_seeds = " ".join(map(str, args.finetune_seeds))
    ft = FINETUNE
    command = f"--cv-seeds {seeds} --finetune-seeds {ft_seeds} --finetune-folds {args.finetune_folds}"
    command += " --skip-mpnet" if args.skip_mpnet else ""
    lines = [
        "## Green-patent classifier: F1 on the bundled real data (issue 3)",
        "",
        f"`.venv/bin/python benchmarks/bench_classify.py {command}` on {machine()}, {now()};",
        f"{time.perf_counter() - started:.0f} s in all.",
        "",
        f"Data: the {n} claims of the demo's balanced sample (all 105 green claims of the bundled",
        "sources + 105 non-green drawn with seed 42; silver labels from CPC Y02), and the 100 human",
        f"gold labels of `hitl_gold_100.csv` (38 green). {long_share:.1%} of the {n} claims are longer",
        "than 384 MiniLM tokens.",
        "",
        f"Protocol A: stratified 5-fold CV repeated with shuffling seeds {seeds} (train 168 / test 42",
        "per fold); mean ± std (ddof 1) over folds.",
        finetune_note(args.finetune_folds, ft_seeds, len(cv["Fine-tuned MiniLM"])),
        f"Protocol B: train on all {n}, test on gold_100. Fine-tuning: MiniLM + Linear(384, 2),",
        f"{ft['epochs']} epochs, max_length {ft['max_length']}, lr {ft['lr']:g}, batch {ft['batch_size']},",
        f"{ft['warmup_steps']} warmup steps, weight decay 0.01, clipping 1.0; the last epoch is kept",
        "(no eval set inside a fold, so the test fold is never peeked at).",
        "",
        "| model | A: F1 (green) | A: macro F1 | folds | B: gold_100 F1 (green) | B: gold_100 macro F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, scores in cv.items():
        g = gold_scores.get(name)
        lines.append(
            f"| {name} | {cell(scores, 0)} | {cell(scores, 1)} | {len(scores)} | "
            + (f"{g[0]:.4f} | {g[1]:.4f} |" if g else "– | – |")
        )
    update_section("classify", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
