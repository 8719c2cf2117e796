"""Shared fixtures: the bundled real sample, read once per session."""

from __future__ import annotations

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
