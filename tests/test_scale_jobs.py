"""Scale jobs on the local engine: real models, and a real ``kill -9`` in the middle of a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from patentlab.data import sample_path
from patentlab.errors import PatentlabError
from patentlab.scale import EmbedJob, GenerateJob, PredictJob, read_output, run_job
from patentlab.scale.jobs import shard_seed, vet_structure
from patentlab.scale.shards import ShardedOutput


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    """24 real claims (id, text) from the bundled sample, in two Parquet files."""
    df = pd.read_csv(sample_path("y02_claims_1100.csv"), dtype={"id": str}).head(24)[["id", "text"]]
    folder = tmp_path_factory.mktemp("claims")
    pq.write_table(pa.Table.from_pandas(df.head(16), preserve_index=False), folder / "a.parquet")
    pq.write_table(pa.Table.from_pandas(df.tail(8), preserve_index=False), folder / "b.parquet")
    return folder


def test_embed_matches_the_encoder_and_resumes(claims, tmp_path):
    from patentlab.embed import Encoder

    out = tmp_path / "emb"
    report = run_job(EmbedJob("minilm"), [claims], out, shard_rows=6, show_progress=False)
    assert (report.shards, report.skipped, report.rows) == (5, 0, 24)  # 6+6+4 | 6+2
    table = read_output(out)
    texts = pd.concat([pd.read_parquet(claims / f) for f in ("a.parquet", "b.parquet")])["text"].tolist()
    direct = Encoder("minilm", cache=False).encode(texts, show_progress=False)
    assert np.allclose(np.array(table["embedding"].to_pylist()), direct, atol=1e-5)
    again = run_job(EmbedJob("minilm"), [claims], out, shard_rows=6, show_progress=False)
    assert (again.skipped, again.rows) == (5, 0)
    with pytest.raises(PatentlabError, match="different job"):
        run_job(EmbedJob("minilm"), [claims], out, shard_rows=8, show_progress=False)


def test_predict_writes_nulls_for_empty_text(tmp_path):
    from patentlab.classify.baseline import FrozenEncoderClassifier

    df = pd.read_csv(sample_path("y02_claims_1100.csv"), dtype={"id": str}).head(40)
    model = FrozenEncoderClassifier("minilm").fit(df["text"].tolist(), df["is_green"].tolist())
    model.save_pretrained(tmp_path / "clf")
    rows = pa.table({"id": ["x1", "x2", "x3"], "text": [df["text"][0], "  ", df["text"][1]]})
    pq.write_table(rows, tmp_path / "in.parquet")
    run_job(
        PredictJob(str(tmp_path / "clf")), [tmp_path / "in.parquet"], tmp_path / "out", show_progress=False
    )
    out = read_output(tmp_path / "out").to_pylist()
    assert [r["id"] for r in out] == ["x1", "x2", "x3"]
    assert out[1]["p_green"] is None and out[1]["label"] is None
    expected = model.predict_proba([df["text"][0], df["text"][1]], show_progress=False)[:, 1]
    assert np.allclose([out[0]["p_green"], out[2]["p_green"]], expected, atol=1e-6)


def test_generate_job_checks_its_options():
    with pytest.raises(PatentlabError, match="condition"):
        GenerateJob(mode="top-down", condition="claims")
    with pytest.raises(PatentlabError):
        GenerateJob(mode="sideways")
    assert shard_seed(0, 1) == shard_seed(0, 1) != shard_seed(0, 2)
    failures = vet_structure("# Patent\n\n## Title\nA pump", finished=False)
    assert "sections" in failures


def test_kill_9_mid_run_then_resume_gives_identical_output(claims, tmp_path):
    """A job killed with SIGKILL while writing, then restarted, ends as an uninterrupted run."""
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    cmd = [sys.executable, "-m", "patentlab.cli", "scale", "embed", str(claims), "--out", str(killed),
           "--shard-rows", "2", "--batch-size", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(killed.glob("part-*.parquet"))) < 3 and proc.poll() is None:
            assert time.monotonic() < deadline, "the job wrote no parts in 2 minutes"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    left = ShardedOutput.read_manifest(killed)
    assert left is not None and not left["complete"]
    done_before = len(list(killed.glob("part-*.parquet")))
    assert 3 <= done_before < 12
    resumed = run_job(EmbedJob("minilm", batch_size=2), [claims], killed, shard_rows=2, show_progress=False)
    assert resumed.skipped == done_before and resumed.rows == 24 - 2 * done_before
    run_job(EmbedJob("minilm", batch_size=2), [claims], clean, shard_rows=2, show_progress=False)
    assert read_output(killed).equals(read_output(clean))
