"""Slow checks on the whole demo corpus: the demo stage, and known-item retrieval quality."""

from __future__ import annotations

import shutil

import pytest

from patentlab.index import SearchIndex, read_documents
from patentlab.pipeline.context import DemoContext

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def workdir(demo_corpus, tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    (work / "corpus").mkdir()
    shutil.copy(demo_corpus / "corpus.parquet", work / "corpus" / "corpus.parquet")
    return work


def test_demo_stage_indexes_queries_and_reuses(workdir, capsys):
    from patentlab.pipeline.search import run

    ctx = DemoContext(workdir=workdir)
    run(ctx)
    out = capsys.readouterr().out
    assert "patentlab serve --index" in out and "http://127.0.0.1:8000/search?q=" in out
    with SearchIndex.open(workdir / "search") as index:
        n = len(index)
        assert n == len(list(read_documents([workdir / "corpus" / "corpus.parquet"])))
        assert len(index.dense) == n
    run(ctx)  # the second run reuses the index and adds nothing
    assert "(0 new)" in capsys.readouterr().out


def test_known_item_search_on_titles(workdir):
    with SearchIndex.open(workdir / "search") as index:
        docs = [d for d in read_documents([workdir / "corpus" / "corpus.parquet"]) if d.title][:150]
        found = {"keyword": 0, "dense": 0, "hybrid": 0}
        vectors = index.encode_queries([d.title for d in docs], batch_size=64)
        for doc, vector in zip(docs, vectors, strict=True):
            for mode in found:
                hits = index.search(doc.title, k=10, mode=mode, query_vector=vector).hits
                titles = [(h.title or "").lower() for h in hits]
                found[mode] += doc.title.lower() in titles
    recall = {mode: n / len(docs) for mode, n in found.items()}
    assert recall["hybrid"] >= 0.9, recall
    assert recall["hybrid"] >= max(recall["keyword"], recall["dense"]) - 0.05, recall
