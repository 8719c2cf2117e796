"""``patentlab serve``: run the web app with uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer


def serve(
    index: Path = typer.Option(None, help="Search index directory (from 'patentlab search index')."),
    db: str = typer.Option(None, help="Review database URL, e.g. sqlite:///runs/review.db or postgresql://…"),
    published: Path = typer.Option(None, help="Publication folder (from 'patentlab publish run')."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind; keep 127.0.0.1 unless behind a proxy."),
    port: int = typer.Option(8000, help="Port to listen on."),
    model: Path = typer.Option(
        None, help="Classifier folder for /classify (any kind that 'patentlab classify' saves)."
    ),
) -> None:
    """Serve the search, classify and review pages and the JSON API."""
    import uvicorn

    from patentlab.web.app import create_app
    from patentlab.web.settings import WebSettings

    settings = WebSettings(search_index=index, review_db_url=db, classifier_model=model, published=published)
    app = create_app(settings)
    if model is not None:  # load now: a wrong folder is a one-line error before the server starts
        from patentlab.web.classify import ServedClassifier

        typer.echo(f"loading the classifier from {model} …")
        app.state.classifier = ServedClassifier.load(model)
    typer.echo(f"patentlab web app on http://{host}:{port}/  (API docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="info")
