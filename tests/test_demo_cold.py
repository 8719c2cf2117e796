"""The demo from nothing: every stage in order from an empty workdir and an empty cache.

``make demo`` is the first command a newcomer runs; a file that one stage expects from another
(an index, a model folder, a manifest) must exist on a cold run, not only on the warm reruns that
developers see. The tiny preset keeps the same stages and hand-offs at toy sizes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from patentlab.cli import main
from patentlab.pipeline.demo import _stages


def test_every_stage_runs_cold_in_order_on_the_tiny_preset(tmp_path, monkeypatch, capsys):
    cache, workdir = tmp_path / "cache", tmp_path / "demo"
    monkeypatch.setenv("PATENTLAB_CACHE", str(cache))
    rc = main(["demo", "--preset", "tiny", "--workdir", str(workdir)])
    out, err = capsys.readouterr()
    assert rc == 0, err[-3000:]
    assert "Traceback" not in out + err
    for stage in _stages():
        assert f"{stage.name} took" in out, f"stage {stage.name} did not finish"
        assert (workdir / stage.name).is_dir() or stage.name == "corpus"
    # The hand-offs the later stages read.
    assert (workdir / "splits" / "train_silver.parquet").exists()
    assert (workdir / "search" / "index.json").exists()
    manifest = json.loads((workdir / "search" / "index.json").read_text())
    corpus_rows = len(pd.read_parquet(workdir / "corpus" / "corpus.parquet", columns=["id"]))
    assert manifest["documents"] == manifest["vectors"] >= corpus_rows  # the corpus, embedded
    # The index was built with the classify stage's encoder, so it found those vectors cached.
    baseline = json.loads((workdir / "classify" / "baseline" / "baseline.json").read_text())
    assert manifest["encoder"]["max_length"] == baseline["max_length"]
    assert (workdir / "publish").is_dir()
    assert not (cache / "logs").exists() or not any((cache / "logs").iterdir())
    # A second run reuses every stage instead of failing on what the first left behind.
    rc = main(["demo", "--preset", "tiny", "--workdir", str(workdir)])
    out, err = capsys.readouterr()
    assert rc == 0, err[-3000:]
    assert "reusing" in out


def test_an_unknown_preset_is_one_line(tmp_path, capsys):
    rc = main(["demo", "--preset", "huge", "--workdir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "unknown demo preset 'huge'" in err
    assert "Traceback" not in err


def _boom(ctx):
    raise ValueError("the stage broke")


@pytest.fixture
def broken_stage(monkeypatch, tmp_path):
    """A demo whose only stage has a bug, and a cache of its own for the crash log."""
    import patentlab.pipeline.demo as demo

    monkeypatch.setattr(demo, "_stages", lambda: [demo.Stage("boom", "a stage with a bug", _boom)])
    monkeypatch.setenv("PATENTLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_an_unexpected_error_is_one_line_with_a_log(broken_stage, capsys):
    rc = main(["demo", "--workdir", str(broken_stage / "w")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "demo stage 'boom' failed" in lines[0]
    assert "ValueError: the stage broke" in lines[0]
    logs = list((broken_stage / "cache" / "logs").glob("patentlab-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    log = logs[0].read_text(encoding="utf-8")
    assert "Traceback" in log and "ValueError: the stage broke" in log and "command: patentlab demo" in log


def test_debug_shows_the_traceback(broken_stage, capsys):
    rc = main(["--debug", "demo", "--workdir", str(broken_stage / "w")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" in err and "_boom" in err


def test_the_console_script_never_prints_a_traceback(tmp_path):
    """The installed ``patentlab`` command, as a user runs it, on an index folder that is a file."""
    bogus = tmp_path / "index"
    bogus.write_text("not an index", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "patentlab.cli", "search", "query", "solar", "-i", str(bogus)],
        capture_output=True,
        text=True,
        env={"PATENTLAB_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert str(bogus) in run.stderr or "index" in run.stderr
