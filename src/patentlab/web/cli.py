"""``patentlab serve``: run the web app with uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer


def serve(
    index: Path = typer.Option(None, help="Search index directory (from 'patentlab search index')."),
    db: str = typer.Option(None, help="Review database URL, e.g. sqlite:///runs/review.db or postgresql://…"),
    host: str = typer.Option("127.0.0.1", help="Interface to bind; keep 127.0.0.1 unless behind a proxy."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve the search and review pages and the JSON API."""
    import uvicorn

    from patentlab.web.app import create_app
    from patentlab.web.settings import WebSettings

    app = create_app(WebSettings(search_index=index, review_db_url=db))
    typer.echo(f"patentlab web app on http://{host}:{port}/  (API docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="info")
