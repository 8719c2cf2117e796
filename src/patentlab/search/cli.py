"""``patentlab search …``: build the hybrid index, query it, find similar documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from patentlab import console
from patentlab.console import progress_callback

app = typer.Typer(
    help="Prior-art search: a hybrid BM25 + dense index over patents and published inventions.",
    no_args_is_help=True,
)

INDEX_OPTION = typer.Option(..., "--index", "-i", help="Index directory.")


@app.command()
def index(
    sources: list[Path] = typer.Argument(..., help="Corpus-schema Parquet/JSONL files or directories."),
    index_dir: Path = INDEX_OPTION,
    fresh: bool = typer.Option(False, help="Rebuild from scratch instead of adding to an existing index."),
    model: str = typer.Option("minilm", help="Encoder: minilm, mpnet, a hub id or a local folder."),
    max_length: int = typer.Option(128, help="Tokens embedded per document."),
    dtype: str = typer.Option("bf16", help="Encoder precision: bf16 or fp32."),
    dense: str = typer.Option("ivf", help="Vector index of a new index: ivf, hnsw or flat (exact)."),
    nprobe: int = typer.Option(8, help="IVF groups scanned per query (recall/speed)."),
) -> None:
    """Index SOURCES; an existing index gets only the documents it does not hold yet."""
    from patentlab.embed.settings import EncoderSettings
    from patentlab.index.dense import DenseParams
    from patentlab.index.hybrid import MANIFEST, SearchIndex

    settings = EncoderSettings(model=model, max_length=max_length, dtype=dtype)
    params = DenseParams(kind=dense, nprobe=nprobe)
    with console.progress(transient=True) as bar:
        update = progress_callback(bar)
        if fresh or not (index_dir / MANIFEST).exists():
            idx, report = SearchIndex.build(
                index_dir, sources, encoder=settings, dense=params, progress=update
            )
        else:
            idx = SearchIndex.open(index_dir, read_only=False)
            report = idx.add_files(sources, progress=update)
    idx.close()
    console.out.print(
        f"{report.added:,} documents added, {report.skipped_existing:,} already indexed; "
        f"{report.total:,} in {index_dir}"
    )


def _print(results, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(results.to_dict(), ensure_ascii=False, indent=2))
        return
    rows = [
        [
            h.rank,
            h.id,
            "[bold magenta]generated[/bold magenta]" if h.doc_type == "generated" else h.doc_type,
            {True: "green", False: "", None: "?"}[h.green],
            h.date or "",
            h.keyword_rank or "-",
            h.dense_rank or "-",
            (h.title or h.snippet)[:60],
        ]
        for h in results.hits
    ]
    header = ["#", "id", "source", "green", "date", "bm25", "dense", "title / snippet"]
    about = f"like {results.like}" if results.like else repr(results.query[:60])
    console.out.print(console.table(f"{results.mode} search for {about}", header, rows))
    console.out.print(f"[dim]{results.timings_ms.get('total', 0):.1f} ms[/dim]")


_SOURCE = typer.Option(None, "--source", help="granted, application, generated or unknown (repeatable).")
_GREEN = typer.Option(None, "--green/--not-green", help="Only green / only not-green documents.")
_Y02 = typer.Option(None, help="Y02 category, e.g. Y02E.")
_CPC = typer.Option(None, help="CPC prefix, e.g. H01L or Y02E10/5.")
_FROM = typer.Option(None, help="Earliest date, YYYY-MM-DD.")
_TO = typer.Option(None, help="Latest date, YYYY-MM-DD.")
_MODE = typer.Option("hybrid", help="hybrid, keyword or dense.")
_KW = typer.Option(1.0, help="RRF weight of the BM25 list.")
_DW = typer.Option(1.0, help="RRF weight of the dense list.")
_JSON = typer.Option(False, "--json", help="Print the results as JSON.")


def _search(
    method: str,
    subject: str,
    index_dir: Path,
    k: int,
    mode: str,
    keyword_weight: float,
    dense_weight: float,
    as_json: bool,
    **filters: Any,
) -> None:
    """The body of ``query`` and ``similar``: ``SearchIndex.<method>(subject, …)``, printed."""
    from patentlab.index.filters import SearchFilters
    from patentlab.index.hybrid import SearchIndex

    with SearchIndex.open(index_dir) as idx:
        results = getattr(idx, method)(
            subject,
            k=k,
            mode=mode,
            filters=SearchFilters.parse(**filters),
            weights={"keyword": keyword_weight, "dense": dense_weight},
        )
    _print(results, as_json)


@app.command()
def query(
    text: str = typer.Argument(..., help="A few words, or a whole claim."),
    index_dir: Path = INDEX_OPTION,
    k: int = typer.Option(10, "-k", help="Results to return (1-100)."),
    mode: str = _MODE,
    source: list[str] = _SOURCE,
    green: bool | None = _GREEN,
    y02: str = _Y02,
    cpc: str = _CPC,
    date_from: str = _FROM,
    date_to: str = _TO,
    keyword_weight: float = _KW,
    dense_weight: float = _DW,
    as_json: bool = _JSON,
) -> None:
    """Search the index for TEXT."""
    _search(
        "search", text, index_dir, k, mode, keyword_weight, dense_weight, as_json,
        source=source, green=green, y02=y02, cpc=cpc, date_from=date_from, date_to=date_to,
    )  # fmt: skip


@app.command()
def similar(
    doc_id: str = typer.Argument(..., help="Id of a document in the index."),
    index_dir: Path = INDEX_OPTION,
    k: int = typer.Option(10, "-k", help="Results to return (1-100)."),
    mode: str = _MODE,
    source: list[str] = _SOURCE,
    green: bool | None = _GREEN,
    y02: str = _Y02,
    cpc: str = _CPC,
    date_from: str = _FROM,
    date_to: str = _TO,
    keyword_weight: float = _KW,
    dense_weight: float = _DW,
    as_json: bool = _JSON,
) -> None:
    """ "More like this": the documents closest to DOC_ID."""
    _search(
        "similar", doc_id, index_dir, k, mode, keyword_weight, dense_weight, as_json,
        source=source, green=green, y02=y02, cpc=cpc, date_from=date_from, date_to=date_to,
    )  # fmt: skip


@app.command()
def show(doc_id: str = typer.Argument(..., help="Document id."), index_dir: Path = INDEX_OPTION) -> None:
    """Print one indexed document as JSON."""
    from patentlab.errors import PatentlabError
    from patentlab.index.hybrid import SearchIndex

    with SearchIndex.open(index_dir) as idx:
        doc = idx.get(doc_id)
    if doc is None:
        raise PatentlabError(f"no document with id '{doc_id}' in this index", path=index_dir)
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
