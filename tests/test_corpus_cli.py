"""The corpus commands as a user runs them: real processes, real files, bad input included."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from patentlab.data import sample_path

PATENTLAB = str(Path(sys.executable).with_name("patentlab"))


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PATENTLAB, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def tree_digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_ingest_split_card_end_to_end(tmp_path):
    sources = [str(sample_path(n)) for n in ("y02_claims_1100.csv", "cpc_group_claims_1411.csv")]
    result = run("corpus", "ingest", *sources, "--out", str(tmp_path / "corpus"))
    assert result.returncode == 0, result.stderr
    assert "2,511" in result.stdout
    assert pq.read_metadata(tmp_path / "corpus" / "corpus.parquet").num_rows == 2511
    assert (tmp_path / "corpus").stat().st_mode & 0o055  # not left private like a temp dir
    result = run(
        "corpus", "split", str(tmp_path / "corpus"), "--out", str(tmp_path / "splits"), "--seed", "3"
    )
    assert result.returncode == 0, result.stderr
    assert "train_silver" in result.stdout and "scaled" in result.stderr
    result = run("corpus", "card", str(tmp_path / "splits"))
    assert result.returncode == 0 and "eval_silver" in result.stdout


def test_help_everywhere():
    for args in ([], ["corpus"], ["corpus", "ingest"], ["corpus", "split"], ["demo"]):
        result = run(*args, "--help")
        assert result.returncode == 0, (args, result.stderr)
        assert "Usage" in result.stdout


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def broken_xml(tmp_path: Path) -> Path:
    real = sample_path("uspto_xml/patentpublicdata/xml2014/US08930553.xml").read_bytes()
    return write_bytes(tmp_path / "truncated.xml", real[: len(real) // 3])


def hub_with_label(tmp_path: Path, value: str) -> Path:
    lines = sample_path("y02_claims_1100.csv").read_text(encoding="utf-8").splitlines(keepends=True)[:4]
    header = lines[0].split(",")
    assert header[4] == "Y02A"
    fields = lines[3].rsplit('",', 1)
    cells = fields[1].split(",")
    cells[0] = value  # the Y02A cell of data row 3
    lines[3] = fields[0] + '",' + ",".join(cells)
    return write_bytes(tmp_path / "bad_label_hub.csv", "".join(lines).encode())


BAD_INPUTS = {
    "empty file": (lambda t: write_bytes(t / "empty.csv", b""), ["empty.csv", "empty"]),
    "missing text column": (  # a title or an abstract alone would do (issue 15); a note does not
        lambda t: write_bytes(t / "notext.csv", b"id,notes\n1,A valve\n"),
        ["notext.csv", "'text'"],
    ),
    "cp1252 read as utf-8": (
        lambda t: write_bytes(
            t / "win.csv", "id,text\n1,A caf\u00e9 \u201cgreen\u201d claim\n".encode("cp1252")
        ),
        ["win.csv", "line 2", "cp1252"],
    ),
    "malformed xml": (broken_xml, ["truncated.xml", "malformed XML", "line"]),
    "duplicate ids": (
        lambda t: write_bytes(t / "dup.csv", b'id,text\n7,"A pump"\n8,"A valve"\n7,"A fan"\n'),
        ["dup.csv", "row 3", "duplicate id '7'"],
    ),
    "label not 0/1": (
        lambda t: write_bytes(t / "label.csv", b'id,text,is_green\n1,"A pump",1\n2,"A fan",yes\n'),
        ["label.csv", "row 2", "is_green", "expected 0 or 1"],
    ),
    "hub label not 0/1": (
        lambda t: hub_with_label(t, "2"),
        ["bad_label_hub.csv", "row 3", "Y02A", "expected 0 or 1"],
    ),
    "path does not exist": (lambda t: t / "missing.csv", ["missing.csv", "no such file"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_one_line_and_keeps_earlier_output(case, tmp_path):
    out = tmp_path / "out"
    good = run("corpus", "ingest", str(sample_path("cpc_group_claims_1411.csv")), "--out", str(out))
    assert good.returncode == 0
    before = tree_digest(out)

    make, expected = BAD_INPUTS[case]
    bad = make(tmp_path)
    result = run("corpus", "ingest", str(bad), "--out", str(out))

    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])
    assert tree_digest(out) == before  # the earlier run's output is untouched
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_encoding_option_reads_cp1252(tmp_path):
    path = write_bytes(tmp_path / "win.csv", "id,text\n1,A caf\u00e9 claim\n".encode("cp1252"))
    result = run("corpus", "ingest", str(path), "--encoding", "cp1252", "--out", str(tmp_path / "c"))
    assert result.returncode == 0, result.stderr
    assert pq.read_table(tmp_path / "c" / "corpus.parquet")["claims"].to_pylist() == [["A caf\u00e9 claim"]]


def test_skip_duplicates_keeps_first(tmp_path):
    path = write_bytes(tmp_path / "dup.csv", b'id,text\n7,"A pump"\n7,"A fan"\n')
    result = run("corpus", "ingest", str(path), "--on-duplicate", "skip", "--out", str(tmp_path / "c"))
    assert result.returncode == 0, result.stderr
    assert pq.read_table(tmp_path / "c" / "corpus.parquet")["claims"].to_pylist() == [["A pump"]]
    assert "skipped: 1" in result.stdout


def test_bad_map_and_sizes_are_one_line_errors(tmp_path):
    src = str(sample_path("cpc_group_claims_1411.csv"))
    result = run("corpus", "ingest", src, "--map", "nope", "--out", str(tmp_path / "c"))
    assert result.returncode == 2 and "COLUMN=FIELD" in result.stderr and "Traceback" not in result.stderr
    result = run("corpus", "ingest", src, "--map", "absent=id", "--out", str(tmp_path / "c"))
    assert result.returncode == 2 and "absent" in result.stderr
    assert run("corpus", "ingest", src, "--out", str(tmp_path / "c")).returncode == 0
    result = run("corpus", "split", str(tmp_path / "c"), "--sizes", "1,2", "--out", str(tmp_path / "s"))
    assert result.returncode == 2 and "--sizes" in result.stderr
    shutil.rmtree(tmp_path / "c")


def test_unreachable_hub_dataset_is_a_one_line_error(tmp_path, monkeypatch):
    """The real hub id goes through ``datasets``; with no hub reachable it fails cleanly."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = run(
        "corpus", "ingest", "hf://AI-Growth-Lab/patents_claims_1.5m_traim_test", "--out", str(tmp_path / "c")
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "AI-Growth-Lab/patents_claims_1.5m_traim_test" in lines[0]
    assert "could not load hub dataset" in lines[0]
    assert not (tmp_path / "c").exists()


def test_an_unknown_option_is_a_usage_error_not_a_traceback(capsys):
    from patentlab.cli import main

    # typer vendors its own click: its usage errors must still end as one message and exit 2.
    assert main(["publish", "verify", "--no-such-option"]) == 2
    assert "No such option: --no-such-option" in capsys.readouterr().err
