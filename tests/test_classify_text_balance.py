"""Issue 15 on real data: abstract-only records, unknown labels, --balance weight, --text, metrics.

The abstracts are the bundled ``uspto_abstracts_cpc_10k.csv.gz`` (10,000 real USPTO abstracts:
197 green, 9,338 not green, 465 without any CPC code, whose label is unknown).
"""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pyarrow.parquet as pq
import pytest

from patentlab.cli import main
from patentlab.data import sample_path
from patentlab.errors import PatentlabError

ABSTRACTS = "uspto_abstracts_cpc_10k.csv.gz"


def abstract_rows(n: int | None = None, step: int = 1) -> list[dict]:
    """Real rows of the abstracts file; it is in date order, and the unlabelled ones come first."""
    with gzip.open(sample_path(ABSTRACTS), "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))[::step]
    return rows if n is None else rows[:n]


def write_csv(path, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def abstract_corpus(tmp_path_factory):
    from patentlab.corpus.ingest import ingest

    out = tmp_path_factory.mktemp("abstracts")
    report = ingest([str(sample_path(ABSTRACTS))], out)
    return out, report


def test_abstract_only_records_ingest_with_unknown_labels(abstract_corpus):
    out, report = abstract_corpus
    assert report.rows == 10_000
    # A patent with no CPC code is unknown, never "not green".
    assert report.labels == {"green": 197, "not_green": 9_338, "unknown": 465}
    table = pq.read_table(out / "corpus.parquet", columns=["claims", "abstract", "is_green_silver"])
    assert all(len(c) == 0 for c in table["claims"].to_pylist())
    assert all(a for a in table["abstract"].to_pylist())


def test_weight_policy_keeps_every_labelled_record(abstract_corpus, tmp_path):
    from patentlab.corpus.split import SPLITS, read_split, split_corpus

    out, _ = abstract_corpus
    card = split_corpus(out, tmp_path, balance="weight", seed=3)
    tables = {name: read_split(tmp_path, name) for name in SPLITS}
    labels = {name: t["is_green_silver"].to_pylist() for name, t in tables.items()}
    available = card["deduplication"]["green_available"] + card["deduplication"]["not_green_available"]
    assert sum(len(v) for v in labels.values()) == available  # no labelled record dropped
    assert sum(v.count(1) for v in labels.values()) == card["deduplication"]["green_available"]
    assert all(None not in v for v in labels.values())  # unknown labels go into no split
    for name in ("eval_silver", "pool_unlabeled"):
        assert labels[name].count(1) == labels[name].count(0) > 0
    assert labels["train_silver"].count(0) > 30 * labels["train_silver"].count(1)
    assert card["balance"]["policy"] == "weight" and "scarce" in card["balance"]["reason"]
    assert card["splits"]["train_silver"]["text_from"]["abstract"] == len(labels["train_silver"])
    texts = tables["train_silver"]["text"].to_pylist()
    assert texts == tables["train_silver"]["abstract"].to_pylist()
    assert "weight" in (tmp_path / "dataset_card.md").read_text()


def test_split_cli_balance_option(abstract_corpus, tmp_path, capsys):
    corpus = str(abstract_corpus[0])
    assert main(["corpus", "split", corpus, "-o", str(tmp_path / "w"), "--balance", "weight"]) == 0
    assert "train_silver keeps every labelled record" in capsys.readouterr().err
    assert main(["corpus", "split", corpus, "-o", str(tmp_path / "x"), "--balance", "both"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--balance must be one of balanced, weight" in err


def test_balanced_policy_is_still_the_default(abstract_corpus, tmp_path):
    from patentlab.corpus.split import split_corpus

    card = split_corpus(abstract_corpus[0], tmp_path, seed=3)
    assert card["balance"]["policy"] == "balanced"
    assert card["splits"]["train_silver"]["green"] == card["splits"]["train_silver"]["not_green"]
    assert any("--balance weight" in m for m in card["messages"])


def test_blank_labels_are_unknown_never_negative(tmp_path, capsys):
    from patentlab.classify.data import load_labeled

    data = load_labeled(sample_path(ABSTRACTS))
    assert (len(data), data.skipped_unknown, int(data.labels.sum())) == (9_535, 465, 197)
    assert data.text_kinds == {"abstract": 9_535}
    # A label column that mixes 0/1 with blanks: the CLI says how many rows it skipped.
    rows = abstract_rows(400, step=25)
    blanks = sum(1 for r in rows if r["is_green"] == "")
    assert 0 < blanks < 400
    write_csv(tmp_path / "mixed.csv", rows, ["patent_id", "abstract", "is_green"])
    mixed = load_labeled(tmp_path / "mixed.csv")
    assert len(mixed) == 400 - blanks and mixed.skipped_unknown == blanks
    assert int((mixed.labels == 0).sum()) == sum(1 for r in rows if r["is_green"] == "0")


def test_text_choice_and_record_text():
    from patentlab.tables import check_text_columns, record_text

    split_row = {"claims": [], "abstract": "An abstract.", "title": "A title", "text": "An abstract."}
    assert record_text(split_row) == "An abstract."
    assert record_text(split_row, "claims") == ""
    assert record_text(split_row, "title+abstract") == "A title An abstract."
    full = {"claims": ["1. A claim.", "2. More."], "abstract": "Abs.", "title": "T"}
    assert record_text(full) == "1. A claim."
    assert record_text(full, "all") == "T Abs. 1. A claim."
    assert record_text({"text": "1. A claim."}, "claims") == "1. A claim."
    with pytest.raises(PatentlabError, match="field 'abstract'"):
        check_text_columns(["doc_id", "text", "is_green_human"], "abstract", "gold.csv")
    with pytest.raises(PatentlabError, match="--text must be one of"):
        record_text(full, "summary")


def test_metrics_put_agreement_first():
    from patentlab.classify.data import load_gold
    from patentlab.classify.metrics import all_green_f1, binary_metrics

    gold = load_gold(sample_path("hitl_gold_100.csv"), weight=1.0)
    assert all_green_f1(gold.labels) == pytest.approx(0.55, abs=0.01)
    constant = binary_metrics(gold.labels, np.full(len(gold), 0.9))
    assert constant["f1"] == pytest.approx(0.55, abs=0.01)
    assert constant["kappa"] == 0.0 or constant["kappa"] is None
    assert constant["mcc"] == 0.0 and constant["predicted_green"] == 1.0
    perfect = binary_metrics(gold.labels, gold.labels.astype(float))
    assert perfect["kappa"] == pytest.approx(1.0) and perfect["auc"] == pytest.approx(1.0)


def test_record_with_no_text_is_refused_but_abstract_or_title_is_enough(tmp_path, capsys):
    rows = abstract_rows(3)
    rows[1]["title"] = "A title only"
    rows[1]["abstract"] = ""
    write_csv(tmp_path / "ok.csv", rows, ["patent_id", "title", "abstract", "cpc"])
    assert main(["corpus", "ingest", str(tmp_path / "ok.csv"), "-o", str(tmp_path / "c")]) == 0
    rows[2]["abstract"] = ""
    rows[2]["title"] = ""
    write_csv(tmp_path / "bad.csv", rows, ["patent_id", "title", "abstract", "cpc"])
    assert main(["corpus", "ingest", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "c2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "row 3" in err and "no claims, abstract or title" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def claims_model(tmp_path_factory):
    """A frozen MiniLM + LR baseline fitted on 60 real claims (claims only)."""
    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.data import load_labeled, text_summary

    data = load_labeled(sample_path("y02_claims_1100.csv"))
    idx = np.concatenate([np.flatnonzero(data.labels == c)[:30] for c in (0, 1)])
    sub = data.subset(idx)
    clf = FrozenEncoderClassifier("minilm", max_length=128, class_weight="balanced")
    clf.fit(sub.texts, sub.labels)
    clf.text_ = text_summary(sub)
    out = tmp_path_factory.mktemp("model") / "baseline"
    clf.save_pretrained(out)
    return out


def test_model_records_its_text_and_refuses_abstracts(claims_model, tmp_path, capsys):
    import json

    assert json.loads((claims_model / "baseline.json").read_text())["text"]["default"] == "claims"
    write_csv(tmp_path / "abs.csv", abstract_rows(5, step=997), ["patent_id", "abstract"])
    args = ["classify", "predict", str(tmp_path / "abs.csv"), "-m", str(claims_model)]
    assert main([*args, "-o", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "trained on claims" in err and "field 'claims'" in err
    # --text naming a field the file lacks: one line naming the field.
    gold = str(sample_path("hitl_gold_100.csv"))
    evaluate = ["classify", "evaluate", "-m", str(claims_model), "-d", gold, "-o", str(tmp_path / "e")]
    assert main([*evaluate, "--text", "abstract"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "field 'abstract'" in err and "Traceback" not in err
    # Saying --text abstract explicitly classifies the abstracts.
    assert main([*args, "-o", str(tmp_path / "out.csv"), "--text", "abstract"]) == 0
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 6


@pytest.mark.heavy
def test_abstract_only_split_trains(abstract_corpus, tmp_path, capsys):
    """Abstract-only records ingest, split (weight) and train; the model says it read abstracts."""
    import json

    from patentlab.corpus.split import split_corpus

    split_corpus(abstract_corpus[0], tmp_path / "s", balance="weight", n_per_class=100, seed=1)
    train = tmp_path / "s" / "train_silver.parquet"
    small = pq.read_table(train).to_pandas()
    small = small.groupby("is_green_silver", group_keys=False).head(60)
    small.to_parquet(tmp_path / "small.parquet")
    code = main(
        [
            "classify", "baseline", "--train", str(tmp_path / "small.parquet"), "--out", str(tmp_path / "b"),
            "--eval", str(tmp_path / "s" / "eval_silver.parquet"), "--class-weight", "balanced",
            "--max-length", "128",
        ]
    )  # fmt: skip
    assert code == 0
    saved = json.loads((tmp_path / "b" / "baseline.json").read_text())
    assert saved["text"]["rows"] == {"abstract": 120} and saved["text"]["default"] == "abstract"
    report = json.loads((tmp_path / "b" / "eval_eval_silver" / "report.json").read_text())
    assert {"kappa", "auc", "mcc", "predicted_green"} <= set(report)
    assert report["auc"] > 0.5
