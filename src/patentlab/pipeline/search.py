"""The search stage of ``patentlab demo``: index the corpus (and published inventions), query it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from patentlab import console
from patentlab.index.filters import SearchFilters
from patentlab.index.hybrid import SearchIndex
from patentlab.pipeline.context import DemoContext
from patentlab.pipeline.index import corpus_index
from patentlab.search.cli import _print

#: Where the publish stage leaves accepted inventions in the corpus schema.
PUBLISHED = Path("publish") / "inventions.parquet"


def run(ctx: DemoContext) -> None:
    published = ctx.workdir / PUBLISHED
    if not published.exists():
        console.out.print("[dim]no published inventions yet (publish stage not run): corpus only[/dim]")
    index_dir = corpus_index(ctx, [published] if published.exists() else [])
    if index_dir is None:
        return
    index = SearchIndex.open(index_dir)
    claim = index.store.get(0)["claims"][0]
    examples = [
        ("keyword + meaning", "photovoltaic module with a transparent electrode", {}),
        ("green only, Y02E", "energy storage battery charging", {"green": True, "y02": "Y02E"}),
        ("a whole claim as the query", claim, {"source": ["granted", "application", "generated"]}),
    ]
    for label, query, filters in examples:
        console.out.print(f"[bold]{label}[/bold]")
        results = index.search(query, k=5, filters=SearchFilters.parse(**filters))
        _print(results, as_json=False)
    generated = _published_titles(published)
    if generated:
        # The published inventions next to real patents: the query is one of their own titles.
        console.out.print(f"[bold]obvious inventions among real patents[/bold] ({len(generated)} published)")
        _print(index.search(generated[0], k=5), as_json=False)
        console.out.print("[bold]published inventions only, photovoltaic[/bold]")
        only_generated = SearchFilters.parse(source=["generated"])
        _print(index.search("photovoltaic solar cell", k=5, filters=only_generated), as_json=False)
    first = results.hits[0].id if results.hits else index.store.get(0)["id"]
    console.out.print("[bold]more like this[/bold]")
    _print(index.similar(first, k=5), as_json=False)
    index.close()
    url = "http://127.0.0.1:8000/search?" + urlencode({"q": examples[0][1]})
    console.out.print(f"serve it with:  patentlab serve --index {index_dir}\nthen open:      {url}")
    ctx.outputs["search"] = index_dir


def _published_titles(path: Path) -> list[str]:
    """Titles of the published inventions (none when nothing was published)."""
    if not path.exists():
        return []
    import pyarrow.parquet as pq

    return [t for t in pq.read_table(path, columns=["title"]).column("title").to_pylist() if t]
