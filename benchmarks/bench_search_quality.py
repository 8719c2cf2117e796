"""Known-item retrieval on the bundled real corpus: MRR@10 and recall@10 of BM25, dense, hybrid.

Each corpus record yields up to two queries: the first clause of its claim 1 (up to the first
semicolon, at most 40 words) and its title. The record it came from is the item to find; records
with the very same claim clause or title count as found too, since no ranking can tell them apart.

    .venv/bin/python benchmarks/bench_search_quality.py
"""

from __future__ import annotations

import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _report import ROOT, machine, now, update_section

from patentlab.index.hybrid import SearchIndex
from patentlab.index.records import IndexDoc, read_documents

DEMO_CORPUS = ROOT / "runs" / "demo" / "corpus" / "corpus.parquet"


def load_corpus() -> list[IndexDoc]:
    """The demo corpus (``runs/demo/corpus``), ingested from the bundled sample when missing."""
    if not DEMO_CORPUS.exists():
        from patentlab.corpus.ingest import ingest
        from patentlab.data import sample_path
        from patentlab.pipeline.corpus import DEMO_SOURCES

        ingest([str(sample_path(n)) for n in DEMO_SOURCES], DEMO_CORPUS.parent, on_duplicate="skip")
    return list(read_documents([DEMO_CORPUS]))


def first_clause(claim: str, max_words: int = 40) -> str:
    """A claim's opening up to its first semicolon (the preamble and first element)."""
    words = re.split(r";", claim, maxsplit=1)[0].split()
    return " ".join(words[:max_words])


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def evaluate(ranked: list[list[str]], relevant: list[set[str]], k: int = 10) -> tuple[float, float]:
    rr, hit = [], []
    for ids, rel in zip(ranked, relevant, strict=True):
        rank = next((i for i, d in enumerate(ids[:k], start=1) if d in rel), None)
        rr.append(1 / rank if rank else 0.0)
        hit.append(rank is not None)
    return float(np.mean(rr)), float(np.mean(hit))


def main() -> None:
    import torch

    torch.set_num_threads(2)
    docs = load_corpus()
    tasks: dict[str, tuple[list[str], list[set[str]]]] = {}
    for name, key in (
        ("claim 1, first clause", lambda d: first_clause(d.claim1)),
        ("title", lambda d: d.title),
    ):
        groups: dict[str, set[str]] = defaultdict(set)
        for d in docs:
            if key(d):
                groups[norm(key(d))].add(d.id)
        queries = [key(d) for d in docs if key(d)]
        tasks[name] = (queries, [groups[norm(q)] for q in queries])
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        index = SearchIndex.create(Path(tmp) / "index")
        index.add(docs)
        build_s = time.perf_counter() - t
        results = []
        for task, (queries, relevant) in tasks.items():
            vectors = index.encode_queries(queries, batch_size=64)
            for mode in ("keyword", "dense", "hybrid"):
                t = time.perf_counter()
                ranked = [
                    [h.id for h in index.search(q, k=10, mode=mode, query_vector=v).hits]
                    for q, v in zip(queries, vectors, strict=True)
                ]
                ms = (time.perf_counter() - t) * 1000 / len(queries)
                mrr, recall = evaluate(ranked, relevant)
                results.append((task, len(queries), mode, mrr, recall, ms))
                print(
                    f"{task:24s} {mode:8s} MRR@10 {mrr:.3f}  recall@10 {recall:.3f}  {ms:.1f} ms/q",
                    flush=True,
                )
        index.close()
    lines = [
        "## Prior-art search: known-item retrieval quality (issue 8)",
        "",
        f"`.venv/bin/python benchmarks/bench_search_quality.py` on {machine()}, {now()}.",
        f"Index: the demo corpus ({len(docs):,} real records: claim-1 rows of the PatentSBERTa files and "
        f"full USPTO records), built in {build_s:.0f} s with the default settings (MiniLM, "
        f"{index.encoder_settings.dtype}, {index.encoder_settings.max_length} tokens; "
        "RRF k=60, equal weights).",
        "Each record is queried by the first clause of its claim 1 (up to the first `;`, ≤ 40 words) and "
        "by its title; the target is the record itself (or a record with identical query text).",
        "",
        "| query | queries | retriever | MRR@10 | recall@10 | ms / query |",
        "|---|---:|---|---:|---:|---:|",
        *[f"| {t} | {n:,} | {m} | {a:.3f} | {b:.3f} | {c:.1f} |" for t, n, m, a, b, c in results],
    ]
    update_section("search_quality", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
