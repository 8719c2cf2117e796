"""``patentlab publish …``: accepted inventions as prior art (JSONL, Parquet, static site)."""

from __future__ import annotations

from pathlib import Path

import typer

from patentlab import console

app = typer.Typer(help="Publish accepted inventions as searchable prior art.", no_args_is_help=True)


@app.command("run")
def run_cmd(
    vetted: Path = typer.Argument(..., help="A `patentlab vet run` output folder."),
    out: Path = typer.Option(Path("published"), help="The publication folder (created or extended)."),
    title: str = typer.Option(None, help="The site's title."),
) -> None:
    """Give accepted inventions ids, timestamps and provenance; export JSONL, Parquet and a site."""
    from patentlab.publish.publish import DEFAULT_TITLE, SITE_DIR, publish

    report = publish(vetted, out, title=title or DEFAULT_TITLE)
    console.out.print(
        f"published {report.new} new of {report.accepted} accepted "
        f"({report.already_published} already published); {report.total} in {out}; "
        f"site: {out / SITE_DIR / 'index.html'}"
    )
