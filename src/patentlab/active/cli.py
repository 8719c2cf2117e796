"""``patentlab active …``: pick the claims a human (or the agents) should label next."""

from __future__ import annotations

from pathlib import Path

import typer

from patentlab import console

app = typer.Typer(
    help="Active learning: query strategies and the bookkeeping of labelling rounds.",
    no_args_is_help=True,
)


@app.command("select")
def select_command(
    pool: Path = typer.Argument(..., help="Unlabelled claims (pool_unlabeled.parquet, CSV or JSONL)."),
    out: Path = typer.Option(..., "--out", "-o", help="Active-learning directory (ledger + queues)."),
    model: Path = typer.Option(None, help="Classifier folder from 'patentlab classify' (p_green)."),
    scores: Path = typer.Option(None, help="Instead of --model: a table with id and p_green."),
    encoder: str = typer.Option(
        "minilm", help="Encoder for 'diverse' with --scores (or a model without one)."
    ),
    strategy: str = typer.Option("uncertainty", help="uncertainty, margin, entropy or diverse."),
    k: int = typer.Option(100, "--k", "-k", help="Claims to queue this round."),
    labelled: list[Path] = typer.Option(None, help="Files of already labelled ids (repeatable)."),
    seed: int = typer.Option(0, help="Seed of the diverse strategy's clustering."),
) -> None:
    """Select the next round's queue from POOL and print its summary."""
    from patentlab.active.queue import load_pool, select_round
    from patentlab.active.rounds import RoundLedger, read_ids
    from patentlab.active.strategies import REGISTRY
    from patentlab.errors import PatentlabError

    if strategy not in REGISTRY:
        raise PatentlabError(f"unknown strategy '{strategy}'; choose one of {', '.join(REGISTRY)}")
    if (model is None) == (scores is None):
        raise PatentlabError("give exactly one of --model (a classifier folder) or --scores (a table)")
    frame = load_pool(pool)
    embeddings = None
    if model is not None:
        from patentlab.active.scoring import score_with_classifier

        p_green, embeddings = score_with_classifier(model, frame["text"].tolist())
    else:
        from patentlab.active.scoring import read_scores

        p_green = read_scores(scores, frame["id"].tolist())
    if embeddings is None and REGISTRY[strategy].needs_embeddings:
        # A scores table, or a classifier that reads no encoder: embed the pool with --encoder.
        from patentlab.embed.encoder import Encoder

        embeddings = Encoder(encoder).encode(frame["text"].tolist())
    ids = set().union(*(read_ids(p) for p in labelled or []))
    ledger = RoundLedger(out)
    _, summary = select_round(
        frame, p_green, ledger, strategy=strategy, k=k, embeddings=embeddings, labelled_ids=ids,
        seed=seed, model=str(model or scores),
    )  # fmt: skip
    print_summary(summary, out)


def print_summary(summary: dict, out: Path) -> None:
    """Print a round's summary as a table."""
    rows = [
        ["round", summary["round"]],
        ["strategy", summary["strategy"]],
        ["selected / pool", f"{summary['selected']:,} / {summary['pool']:,}"],
        ["excluded (queued or labelled before)", f"{summary['excluded']:,}"],
        ["u range", f"{summary['u_min']:.4f}–{summary['u_max']:.4f} (mean {summary['u_mean']:.4f})"],
        ["p_green range", f"{summary['p_green_min']:.4f}–{summary['p_green_max']:.4f}"],
    ]
    if "mean_cosine" in summary:
        rows.append(["mean pairwise cosine", f"{summary['mean_cosine']:.3f}"])
        rows.append(["near-duplicate pairs (cos > 0.95)", summary["near_duplicate_pairs"]])
    console.out.print(console.table(f"Active-learning queue → {out}", ["", "value"], rows))


@app.command("rounds")
def rounds_command(
    directory: Path = typer.Argument(..., help="An active-learning directory written by 'select'."),
) -> None:
    """List the rounds recorded in an active-learning directory."""
    from patentlab.active.rounds import LEDGER_FILE, RoundLedger
    from patentlab.errors import PatentlabError

    if not (directory / LEDGER_FILE).exists():
        raise PatentlabError(f"no {LEDGER_FILE} here (run 'patentlab active select')", path=directory)
    ledger = RoundLedger(directory)
    header = ["round", "strategy", "k", "u range", "queue", "created"]
    rows = []
    for r in ledger.rounds:
        u_range = f"{r['u_min']:.4f}–{r['u_max']:.4f}"
        rows.append([r["round"], r["strategy"], r["selected"], u_range, r["queue"], r["created"]])
    console.out.print(console.table(f"{len(rows)} round(s) in {directory}", header, rows))
