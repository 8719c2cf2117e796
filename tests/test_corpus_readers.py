"""Every reader on the real bundled files, checked against the files' own labels."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from patentlab.corpus.readers import detect_format, read_source
from patentlab.corpus.schema import PATENT_SCHEMA, Y02_CATEGORIES, clean_text, repair_mojibake
from patentlab.data import data_dir, sample_path
from patentlab.errors import PatentlabError


def read_all(source, **kwargs) -> pa.Table:
    return pa.concat_tables(list(read_source(str(source), **kwargs)))


def csv_rows(name):
    with open(sample_path(name), encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def y02_rows():
    return {r["id"]: r for r in csv_rows("y02_claims_1100.csv")}


def test_hub_layout_csv_matches_the_labels_in_the_file(y02_rows):
    table = read_all(sample_path("hub_layout/df_claim_cpc_train.csv"))
    assert table.schema == PATENT_SCHEMA
    assert table.num_rows == 1000
    wide = csv_rows("hub_layout/df_claim_cpc_train.csv")
    for record, row in zip(table.to_pylist(), wide, strict=True):
        assert record["id"] == row["id"]
        expected_cpc = sorted(k for k, v in row.items() if len(k) == 4 and k[0] in "ABCDEFGHY" and v == "1")
        assert sorted(record["cpc"]) == expected_cpc
        expected_y02 = [c for c in Y02_CATEGORIES if y02_rows[row["id"]][c] == "1"]
        assert record["y02"] == expected_y02
        assert record["is_green_silver"] == int(y02_rows[row["id"]]["is_green"])
        assert record["claims"] == [repair_mojibake(row["text"])]
        assert record["date"].isoformat() == row["date"]
        assert record["doc_type"] == "granted"


def test_y02_claims_file_keeps_every_listed_subclass(y02_rows):
    table = read_all(sample_path("y02_claims_1100.csv"))
    assert table.num_rows == 1100
    assert sum(table["is_green_silver"].to_pylist()) == 91
    for record in table.to_pylist():
        listed = {c for c in y02_rows[record["id"]]["cpc_subclasses"].split(";") if c}
        assert listed <= set(record["cpc"])
    y02_counts = {c: sum(c in r for r in table["y02"].to_pylist()) for c in Y02_CATEGORIES}
    assert y02_counts["Y02T"] == 29 and y02_counts["Y02D"] == 22 and y02_counts["Y02E"] == 16


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("at 250Â° C. and above", "at 250° C. and above"),  # as in y02_claims_1100.csv
        ("the deviceâ€™s", "the device’s"),  # Windows-1252, not Latin-1
        ("a ratio â‰¥ 2", "a ratio ≥ 2"),
        ("Ã©tude", "étude"),
        # Real accents and symbols are not mojibake: left alone.
        ("Ångström, naïve, ± 5 %, 90° C", "Ångström, naïve, ± 5 %, 90° C"),
        ("a trailing Â", "a trailing Â"),
    ],
)
def test_mojibake_is_repaired_and_real_accents_are_not(read, expected):
    assert repair_mojibake(read) == expected
    assert clean_text(f"  {read}  ") == expected


def test_the_bundled_hub_claims_read_without_mojibake():
    """y02_claims_1100.csv has UTF-8 read as Latin-1 upstream ("250Â° C."); ingest repairs it."""
    raw = sample_path("y02_claims_1100.csv").read_text(encoding="utf-8")
    assert raw.count("Â°") > 20
    claims = " ".join(
        c for cs in read_all(sample_path("y02_claims_1100.csv"))["claims"].to_pylist() for c in cs
    )
    assert "Â°" not in claims and "â€" not in claims
    assert claims.count("°") >= raw.count("Â°")


def test_hub_dataset_path_reads_a_local_copy_through_datasets():
    """The hub id path (``hf://owner/name``) goes through ``datasets``; a local dir takes the same code."""
    through_datasets = read_all(data_dir() / "hub_layout", fmt="hub-dataset")
    direct = pa.concat_tables(
        [read_all(sample_path(f"hub_layout/df_claim_cpc_{s}.csv")) for s in ("train", "test")]
    )
    assert through_datasets.num_rows == 1100
    by_id = {r["id"]: r for r in direct.to_pylist()}
    for record in through_datasets.to_pylist():
        expected = by_id[record["id"]]
        assert record["y02"] == expected["y02"]
        assert sorted(record["cpc"]) == sorted(expected["cpc"])
        assert record["claims"] == expected["claims"]
    assert sum(through_datasets["is_green_silver"].to_pylist()) == 91


def test_csv_with_aliases_and_explicit_label():
    table = read_all(sample_path("cpc_group_claims_1411.csv"))
    rows = csv_rows("cpc_group_claims_1411.csv")
    assert table.num_rows == len(rows) == 1411
    assert sum(table["is_green_silver"].to_pylist()) == sum(int(r["is_green"]) for r in rows) == 14
    first = table.slice(0, 1).to_pylist()[0]
    assert first["id"] == rows[0]["patent_id"]
    assert first["cpc"] == [rows[0]["cpc_subgroup"].replace(" ", "")]


def test_csv_with_column_map(tmp_path):
    path = tmp_path / "mapped.csv"
    rows = csv_rows("cpc_group_claims_1411.csv")[:20]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["pid", "claim_body", "codes"])
        for r in rows:
            writer.writerow([r["patent_id"], r["text"], r["cpc_subgroup"]])
    table = read_all(path, column_map={"pid": "id", "claim_body": "claims", "codes": "cpc"})
    assert table["id"].to_pylist() == [r["patent_id"] for r in rows]
    assert [c[0] for c in table["claims"].to_pylist()] == [clean_text(r["text"]) for r in rows]


def test_jsonl_full_records():
    table = read_all(sample_path("full_records_334.jsonl"))
    lines = sample_path("full_records_334.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert table.num_rows == 334
    out = table.to_pylist()
    for got, raw in zip(out, records, strict=True):
        assert got["id"] == raw["doc_number"]
        assert got["title"] == " ".join(raw["title"].split())
        assert len(got["claims"]) == len(raw["claims"])
        assert got["doc_type"] == ("application" if raw["kind"].startswith("A") else "granted")
        # No CPC codes means "not classified in CPC", so the silver label is unknown.
        assert got["is_green_silver"] == (0 if raw["cpc"] else None)
    assert sum(r["is_green_silver"] is not None for r in out) == 30


def test_parquet_in_schema_round_trips(demo_corpus):
    corpus = pq.read_table(demo_corpus / "corpus.parquet")
    again = read_all(demo_corpus / "corpus.parquet")
    assert again.equals(corpus)


def test_parquet_with_other_column_names(tmp_path):
    rows = csv_rows("y02_claims_1100.csv")[:50]
    pq.write_table(
        pa.table({"pub": [r["id"] for r in rows], "body": [r["text"] for r in rows],
                  "green": [int(r["is_green"]) for r in rows]}),
        tmp_path / "x.parquet",
    )  # fmt: skip
    table = read_all(
        tmp_path / "x.parquet", column_map={"pub": "id", "body": "claims", "green": "is_green_silver"}
    )
    assert table["id"].to_pylist() == [r["id"] for r in rows]
    assert table["is_green_silver"].to_pylist() == [int(r["is_green"]) for r in rows]


def test_format_detection():
    assert detect_format(str(sample_path("y02_claims_1100.csv"))) == "hub"
    assert detect_format(str(sample_path("cpc_group_claims_1411.csv"))) == "csv"
    assert detect_format(str(sample_path("full_records_334.jsonl"))) == "jsonl"
    assert detect_format("hf://AI-Growth-Lab/patents_claims_1.5m_traim_test") == "hub-dataset"
    with pytest.raises(PatentlabError, match="no such file"):
        detect_format("/nonexistent/file.csv")
