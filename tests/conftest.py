"""Shared fixtures: the bundled real sample, read once per session; a live server for apps."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from patentlab.data import sample_path


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory):
    """The demo's corpus: the bundled labelled claims plus the full records, ingested once."""
    from patentlab.corpus.ingest import ingest

    out = tmp_path_factory.mktemp("corpus")
    sources = [
        str(sample_path(n))
        for n in ("y02_claims_1100.csv", "cpc_group_claims_1411.csv", "full_records_334.jsonl")
    ]
    ingest(sources, out, on_duplicate="skip")
    return out


@contextlib.contextmanager
def _serve(app) -> Iterator[str]:
    """Run ``app`` in a real uvicorn server on a free 127.0.0.1 port, in a thread; yield its URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server():
    """``with live_server(app) as url: …``: the app behind a real HTTP server on 127.0.0.1."""
    return _serve
