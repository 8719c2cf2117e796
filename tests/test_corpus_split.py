"""Splits: balance, no leakage, determinism, de-duplication, scaling, and the dataset card."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from patentlab.corpus.card import CARD_JSON, CARD_MD
from patentlab.corpus.ingest import ingest
from patentlab.corpus.readers import read_source
from patentlab.corpus.split import SPLITS, normalized_claim_text, plan_split, read_split, split_corpus
from patentlab.data import sample_path
from patentlab.errors import PatentlabError


@pytest.fixture(scope="module")
def splits(demo_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("splits")
    card = split_corpus(demo_corpus, out, seed=7)
    return out, card


def test_each_split_is_balanced(splits):
    out, card = splits
    for name in SPLITS:
        labels = read_split(out, name)["is_green_silver"].to_pylist()
        assert labels.count(1) == labels.count(0) > 0
        assert card["splits"][name]["green"] == labels.count(1)
    # 105 green claims exist in the bundled sample: the card's 25k per class is scaled down.
    assert card["n_per_class"] == 105
    assert sum(card["splits"][n]["rows"] for n in SPLITS) == 210
    assert card["messages"] and "scaled" in card["messages"][0]


def test_no_leakage_between_splits(splits):
    out, _ = splits
    ids, texts = {}, {}
    for name in SPLITS:
        table = read_split(out, name)
        ids[name] = set(table["id"].to_pylist())
        texts[name] = set(normalized_claim_text(table["claims"]).to_pylist())
        assert len(ids[name]) == table.num_rows
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not ids[a] & ids[b]
                assert not texts[a] & texts[b]


def test_same_seed_same_split_and_other_seed_differs(demo_corpus, splits, tmp_path):
    out, _ = splits
    split_corpus(demo_corpus, tmp_path / "again", seed=7)
    split_corpus(demo_corpus, tmp_path / "other", seed=8)
    for name in SPLITS:
        assert read_split(tmp_path / "again", name).equals(read_split(out, name))
    assert (
        read_split(tmp_path / "other", "train_silver")["id"].to_pylist()
        != read_split(out, "train_silver")["id"].to_pylist()
    )


def test_split_text_column_is_claim_one(splits):
    out, _ = splits
    table = read_split(out, "eval_silver")
    assert table["text"].to_pylist() == [c[0] for c in table["claims"].to_pylist()]


def test_duplicate_texts_under_other_ids_are_removed(tmp_path):
    """A claim repeated under a new id, with different numbering and spacing, is dropped."""
    base = pa.concat_tables(list(read_source(str(sample_path("y02_claims_1100.csv")))))
    green = base.filter(pc.equal(base["is_green_silver"], 1)).slice(0, 5)
    copies = green.to_pylist()
    for i, rec in enumerate(copies):
        rec["id"] = f"copy-{i}"
        rec["claims"] = ["  " + rec["claims"][0].removeprefix("1. ").upper() + " "]
    corpus = pa.concat_tables([base, pa.Table.from_pylist(copies, schema=base.schema)])
    pq.write_table(corpus, tmp_path / "corpus.parquet")
    card = split_corpus(tmp_path / "corpus.parquet", tmp_path / "out", n_per_class=20, seed=1)
    assert card["deduplication"]["duplicate_texts_removed"] == 5
    kept = set().union(*(read_split(tmp_path / "out", n)["id"].to_pylist() for n in SPLITS))
    assert not any(k.startswith("copy-") for k in kept)


def test_card_files_and_sizes(splits):
    out, card = splits
    on_disk = json.loads((out / CARD_JSON).read_text())
    assert on_disk["splits"] == card["splits"]
    md = (out / CARD_MD).read_text()
    assert "train_silver" in md and "Y02T" in md
    train = card["splits"]["train_silver"]
    assert train["tokens"]["p5"] <= train["tokens"]["p50"] <= train["tokens"]["p95"] <= train["tokens"]["max"]
    assert train["date_min"] <= train["date_max"]
    for name in SPLITS:
        table = read_split(out, name)
        for record in table.select(["y02", "is_green_silver"]).to_pylist():
            assert not record["y02"] or record["is_green_silver"] == 1
        assert sum(card["splits"][name]["y02"].values()) >= 1


def test_plan_follows_the_card_proportions():
    plan = plan_split(30_000, 900_000)
    assert plan.sizes == (40_000, 5_000, 5_000) and not plan.messages
    small = plan_split(105, 2_436)
    assert small.per_class_sizes == (84, 10, 11)
    with pytest.raises(PatentlabError, match="add up to"):
        plan_split(100, 100, n_per_class=50, sizes=[10, 10, 10])
    with pytest.raises(PatentlabError, match="cannot balance"):
        plan_split(0, 100)


def test_custom_sizes(demo_corpus, tmp_path):
    card = split_corpus(demo_corpus, tmp_path, n_per_class=50, sizes=[60, 20, 20], seed=3)
    assert [card["splits"][n]["rows"] for n in SPLITS] == [60, 20, 20]


def test_records_without_cpc_cannot_be_balanced(tmp_path):
    """Full records mostly lack CPC codes, so their labels are unknown and none is green."""
    ingest([str(sample_path("full_records_334.jsonl"))], tmp_path / "c")
    with pytest.raises(PatentlabError, match="cannot balance: 0 green and 30 non-green"):
        split_corpus(tmp_path / "c", tmp_path / "s", n_per_class=10)
    assert not (tmp_path / "s").exists()
