"""Vetting a batch end to end: outputs, funnel, hit rate, cost, reproduction naming its source."""

from __future__ import annotations

import json

import pytest

from patentlab.cli import main
from patentlab.data import sample_path
from patentlab.generate.data import iter_full_records
from patentlab.generate.formats import BOTTOM_UP, TOP_DOWN, format_patent, prompt
from patentlab.generate.generations import read_generations, write_generations
from patentlab.vet.cost import Prices
from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex, TrainingDocument, load_training_documents
from patentlab.vet.vetting import FUNNEL_CODES, read_vetted, vet_generations

META = {
    "model": {"name_or_path": "test-model", "weights_sha256": "ab" * 32},
    "sampling": {"mode": "top-down", "temperature": 0.8},
    "seed": 7,
    "device": "cpu",
    "cost": {"wall_seconds": 40.0, "cpu_seconds": 72.0, "gpu_seconds": 0.0, "tokens": 2400},
}


@pytest.fixture(scope="module")
def records():
    return [
        r
        for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])
        if r.get("title") and r.get("abstract") and len(r.get("claims") or []) > 2
    ][:60]


@pytest.fixture(scope="module")
def index(records):
    docs = {d.id: d for d in load_training_documents(sample_path("full_records_334.jsonl"))}
    train = [docs[r["id"]] for r in records[10:]]
    return NoveltyIndex(NoveltyConfig(encoder=None)).fit(train, show_progress=False)


def batch_rows(records):
    """Four real held-out patents (both formats), one verbatim training copy, two broken texts."""
    rows = [
        {
            "text": format_patent(r, mode),
            "prompt": prompt(mode),
            "new_tokens": 400,
            "finished": True,
            "seed": i,
        }
        for i, (r, mode) in enumerate(zip(records[:4], [TOP_DOWN, BOTTOM_UP] * 2, strict=True))
    ]
    rows.append({"text": format_patent(records[20]), "prompt": prompt(), "new_tokens": 400, "finished": True})
    rows.append({"text": "# Patent\n\n## Title\nA widget\n\n## Abstract\nA wid", "finished": False})
    rows.append({"generated_text": "# Patent\n\n## Title\n" + "the the the " * 30})
    return rows


def test_vet_a_batch(tmp_path, records, index):
    gens = write_generations(tmp_path / "gens.jsonl", batch_rows(records), META)
    report = vet_generations(gens, index, tmp_path / "vetted", prices=Prices(0.10, 3.0), show_progress=False)
    assert report.n_generated == 7
    assert report.n_accepted == 4
    assert report.hit_rate == pytest.approx(4 / 7, abs=1e-4)
    assert [row["check"] for row in report.funnel] == list(FUNNEL_CODES)
    assert sum(row["removed"] for row in report.funnel) == 3
    assert report.funnel[-1]["remaining"] == 4
    assert report.failures["reproduction"] == 1 and report.failures["sections"] == 2

    rows, summary = read_vetted(tmp_path / "vetted")
    copy = rows[4]
    assert not copy["accepted"] and records[20]["id"] in copy["failures"]["reproduction"]
    assert copy["novelty"]["reproduction_of"] == records[20]["id"]
    assert [r["accepted"] for r in rows[:4]] == [True] * 4

    cost = summary["cost"]
    assert cost["generation_cost_known"]
    assert cost["stages"]["generate"]["cpu_seconds"] == 72.0
    assert cost["per_generated"]["tokens"] == pytest.approx(2400 / 7, rel=1e-4)
    total_cpu = cost["total"]["cpu_seconds"]
    assert cost["per_accepted"]["cpu_seconds"] == pytest.approx(total_cpu / 4, rel=1e-3)
    assert cost["per_accepted"]["usd"] == pytest.approx(total_cpu / 3600 * 0.10 / 4, rel=1e-3)
    assert summary["generation"]["model"]["name_or_path"] == "test-model"
    assert summary["diversity"]["self_bleu"] is not None

    report_md = (tmp_path / "vetted" / "report.md").read_text()
    assert "hit rate: 4 / 7" in report_md and "| `reproduction` |" in report_md
    assert (tmp_path / "vetted" / "funnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nothing_accepted_gives_no_cost_per_accepted(tmp_path, index):
    gens = write_generations(tmp_path / "g.jsonl", [{"text": "no patent here"}], {})
    report = vet_generations(gens, index, tmp_path / "v", show_progress=False)
    assert report.hit_rate == 0.0
    assert report.cost["per_accepted"]["usd"] is None
    assert not report.cost["generation_cost_known"]


def test_green_scores_accepted_inventions(tmp_path, records, index):
    class Constant:
        def predict_proba(self, texts):
            import numpy as np

            return np.tile([0.3, 0.7], (len(texts), 1))

    gens = write_generations(tmp_path / "gens.jsonl", batch_rows(records)[:2], META)
    report = vet_generations(gens, index, tmp_path / "v", classifier=Constant(), show_progress=False)
    assert report.green == {"scored": True, "threshold": 0.5, "accepted_green": 2, "y02_head": False}
    rows, _ = read_vetted(tmp_path / "v")
    assert [r["p_green"] for r in rows] == [0.7, 0.7]


def test_reading_generations(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text('{"generated_text": "x", "seed": 3, "extra": 1}\n\n')
    rows, meta = read_generations(path)
    assert rows[0].text == "x" and rows[0].seed == 3 and rows[0].extra == {"extra": 1} and meta == {}


def test_a_generation_is_one_row_type_written_and_read_back(tmp_path):
    """What a sampler returns is what a generations file reads back as: one `Generation` type."""
    from patentlab.generate.generations import Generation

    fresh = Generation(
        prompt="# Patent", text="# Patent\n\n## Title\nA lamp", new_tokens=5, finished=True, seed=2,
        topic={"text": "lamp"}, combination={"base": "6994119", "secondary": ["8406589"]},
    )  # fmt: skip
    path = write_generations(
        tmp_path / "g.jsonl", [fresh, {"text": "x", "mode": "top-down"}], {"engine": "t"}
    )
    rows, meta = read_generations(path)
    assert rows[0] == fresh and rows[0].row == 1 and rows[0].extra == {}
    assert rows[1].text == "x" and rows[1].extra == {"mode": "top-down"} and rows[1].row == 2
    assert meta == {"engine": "t"}
    # Read, then written again: the same rows (unknown fields and all).
    again = write_generations(tmp_path / "again.jsonl", rows, meta)
    reread = read_generations(again)[0]
    assert reread == rows and [r.extra for r in reread] == [r.extra for r in rows]
    assert rows[0].parse().title == "A lamp"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{bad json\n", "row 1"),
        ('{"title": "x"}\n', "no text"),
        ("", "empty"),
        ('{"text": "x", "seed": "a"}\n', "seed"),
    ],
)
def test_bad_generation_files_give_one_line_errors(tmp_path, capsys, content, message):
    path = tmp_path / "g.jsonl"
    path.write_text(content)
    code = main(["vet", "run", str(path), "--training", str(tmp_path / "none"), "--encoder", "none"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_cli_run(tmp_path, capsys, records):
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps(
                {"doc_number": r["id"], "title": r["title"], "abstract": r["abstract"], "claims": r["claims"]}
            )
            + "\n"
            for r in records[10:30]
        )
    )
    gens = write_generations(tmp_path / "gens.jsonl", batch_rows(records), META)
    code = main(
        [
            "vet",
            "run",
            str(gens),
            "--training",
            str(train),
            "--encoder",
            "none",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "hit rate 57.1%" in out and "cost per accepted invention" in out
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["n_accepted"] == 4


def test_training_docs_from_build_data_dir(tmp_path, records):
    from patentlab.generate.data import build_data

    src = tmp_path / "recs.jsonl"
    src.write_text(
        "".join(
            json.dumps(
                {"doc_number": r["id"], "title": r["title"], "abstract": r["abstract"], "claims": r["claims"]}
            )
            + "\n"
            for r in records[:12]
        )
    )
    build_data([str(src)], tmp_path / "data", heldout_fraction=0.25)
    docs = load_training_documents(tmp_path / "data")
    assert len(docs) == 9 and all(isinstance(d, TrainingDocument) for d in docs)
    index = NoveltyIndex(NoveltyConfig(encoder=None)).fit(docs, show_progress=False)
    assert index.query([docs[0].text])[0].reproduction_of == docs[0].id


def test_a_claim_cut_by_the_token_limit_is_dropped_not_published():
    from patentlab.generate.parse import parse_patent
    from patentlab.vet.vetting import drop_cut_claim

    text = format_patent(
        {
            "title": "Lamp",
            "abstract": "A lamp with a shade.",
            "claims": ["A lamp comprising a shade.", "The lamp of claim 1, wherein the shade is"],
        }
    )
    parsed = drop_cut_claim(parse_patent(text, finished=False))
    assert parsed.claims == ["A lamp comprising a shade."] and parsed.is_complete
    only_claim = parse_patent(text.split("\n2.")[0], finished=False)
    assert drop_cut_claim(only_claim).truncated == ["claims"]
