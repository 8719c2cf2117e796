"""``patentlab corpus …``: ingest sources, make splits, show a dataset card."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from patentlab import console

app = typer.Typer(
    help="Read patents into one schema, derive silver labels, make splits.", no_args_is_help=True
)


@app.command()
def ingest(
    sources: list[str] = typer.Argument(
        ..., help="Files (CSV, Parquet, JSONL, USPTO XML) or hf://owner/name."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Corpus directory to write."),
    fmt: str = typer.Option(
        "auto", "--format", help="auto, hub, csv, parquet, jsonl, uspto-xml, hub-dataset."
    ),
    column_map: list[str] = typer.Option(None, "--map", help="COLUMN=FIELD, repeatable (e.g. patent_id=id)."),
    encoding: str = typer.Option("utf-8", help="Text encoding of CSV/JSONL sources (e.g. cp1252)."),
    on_duplicate: str = typer.Option("error", help="What to do with a repeated id: error or skip."),
) -> None:
    """Ingest SOURCES into OUT/corpus.parquet, streaming."""
    from patentlab.corpus.ingest import ingest as run_ingest
    from patentlab.corpus.readers.tabular import parse_column_map

    mapping = parse_column_map(column_map)
    with console.progress(transient=True) as bar:
        task = bar.add_task("ingest", total=None)

        def update(source: str, rows: int) -> None:
            bar.update(task, description=f"ingest {Path(source).name}", completed=rows)

        report = run_ingest(
            sources,
            out,
            fmt=fmt,
            column_map=mapping,
            encoding=encoding,
            on_duplicate=on_duplicate,
            progress=update,
        )
    rows = [[s, f"{n:,}"] for s, n in report.per_input.items()]
    console.out.print(f"Ingested {report.rows:,} patents into {out / 'corpus.parquet'}")
    console.out.print(console.table("", ["source", "rows"], rows))
    labels = ", ".join(f"{k} {v:,}" for k, v in sorted(report.labels.items()))
    console.out.print(f"silver labels: {labels}; {report.seconds:.1f} s")
    if report.duplicates_skipped:
        console.out.print(f"duplicate ids skipped: {report.duplicates_skipped:,}")


@app.command()
def split(
    corpus: Path = typer.Argument(..., help="Corpus directory (from 'ingest') or its Parquet file."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory for the splits and the dataset card."),
    n_per_class: int = typer.Option(25_000, help="Claims per class in the balanced sample."),
    sizes: str = typer.Option(None, help="train,eval,pool sizes (default: the card's 80/10/10)."),
    seed: int = typer.Option(42, help="Random seed; the same seed gives the same split."),
    balance: str = typer.Option(
        "balanced",
        help="balanced: the card's N green + N non-green. weight (when green is scarce): train keeps "
        "every labelled record and the classifier weights the classes; eval stays balanced.",
    ),
) -> None:
    """Make de-duplicated train_silver / eval_silver / pool_unlabeled splits (balanced or weighted)."""
    from patentlab.corpus.split import split_corpus

    parsed = _parse_sizes(sizes)
    with console.progress(transient=True) as bar:
        task = bar.add_task("scan corpus", total=None)
        card = split_corpus(
            corpus,
            out,
            n_per_class=n_per_class,
            sizes=parsed,
            seed=seed,
            balance=balance,
            progress=lambda n: bar.update(task, completed=n),
        )
    print_card(card)


def _parse_sizes(sizes: str | None) -> list[int] | None:
    from patentlab.errors import PatentlabError

    if sizes is None:
        return None
    try:
        return [int(x) for x in sizes.split(",")]
    except ValueError:
        raise PatentlabError(f"--sizes '{sizes}' is not three comma-separated integers") from None


@app.command()
def card(split_dir: Path = typer.Argument(..., help="A directory written by 'corpus split'.")) -> None:
    """Print the dataset card of a split directory."""
    from patentlab.corpus.card import CARD_JSON
    from patentlab.errors import PatentlabError

    path = split_dir / CARD_JSON
    if not path.exists():
        raise PatentlabError("no dataset card here (run 'patentlab corpus split')", path=path)
    print_card(json.loads(path.read_text(encoding="utf-8")))


def print_card(card: dict) -> None:
    """Print a dataset card as a terminal table, with its notes."""
    from patentlab.corpus.card import card_rows

    for message in card.get("messages", []):
        console.err.print(f"[yellow]note:[/yellow] {message}")
    balance = card.get("balance")
    if balance and balance["policy"] != "weight":  # a weight policy's reason is among the notes
        console.err.print(f"balance: {balance['reason']}")
    header, rows = card_rows(card)
    console.out.print(console.table(f"Dataset card (seed {card['seed']})", header, rows))
    dedup = card["deduplication"]
    console.out.print(
        "de-duplication: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in dedup.items())
    )
