"""The Ray engine on a local ``ray.init(num_cpus=2)``: the same output as the single-process path."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from patentlab.data import sample_path
from patentlab.errors import PatentlabError
from patentlab.scale import EmbedJob, GenerateJob, PredictJob, read_output, run_job
from patentlab.scale.ray_engine import plan_actors
from patentlab.scale.shards import write_count_input

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the whole module (starting it takes seconds)."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    """30 real claims with silver labels from the bundled sample, as Parquet."""
    df = pd.read_csv(sample_path("y02_claims_1100.csv"), dtype={"id": str}).head(30)
    path = tmp_path_factory.mktemp("claims") / "claims.parquet"
    pq.write_table(pa.Table.from_pandas(df[["id", "text", "is_green"]], preserve_index=False), path)
    return path


def _both(job, inputs, tmp_path, shard_rows):
    """Run ``job`` on the local engine and on Ray; return both outputs."""
    run_job(job, inputs, tmp_path / "local", shard_rows=shard_rows, show_progress=False)
    report = run_job(job, inputs, tmp_path / "ray", engine="ray", shard_rows=shard_rows, show_progress=False)
    assert report.workers == 2  # one actor per CPU of the local cluster
    return read_output(tmp_path / "local"), read_output(tmp_path / "ray")


def test_plan_actors_asks_for_gpus_only_where_there_are_some():
    assert plan_actors({"CPU": 2.0}, None, 10) == (2, {"num_cpus": 1})
    assert plan_actors({"CPU": 8.0}, 2, 10) == (2, {"num_cpus": 4})
    assert plan_actors({"CPU": 16.0, "GPU": 4.0}, None, 10) == (4, {"num_gpus": 1, "num_cpus": 1})
    assert plan_actors({"CPU": 16.0, "GPU": 4.0}, None, 3)[0] == 3  # never more actors than shards
    assert plan_actors({"CPU": 2.0}, 8, 10) == (2, {"num_cpus": 1})  # nor than the cluster can place


def test_embed_on_ray_equals_local_and_resumes_across_engines(local_ray, claims, tmp_path):
    local, on_ray = _both(EmbedJob("minilm"), [claims], tmp_path, shard_rows=8)
    assert local.column("id").to_pylist() == on_ray.column("id").to_pylist()
    a, b = np.array(local["embedding"].to_pylist()), np.array(on_ray["embedding"].to_pylist())
    assert a.shape == (30, 384)
    assert np.allclose(a, b, atol=1e-5)
    # A Ray run that lost a shard is finished by the local engine, and nothing changes.
    (tmp_path / "ray" / "part-00002.parquet").unlink()
    report = run_job(EmbedJob("minilm"), [claims], tmp_path / "ray", shard_rows=8, show_progress=False)
    assert (report.skipped, report.rows) == (3, 8)
    assert read_output(tmp_path / "ray").equals(on_ray)


def test_predict_on_ray_equals_local(local_ray, claims, tmp_path):
    from patentlab.classify.baseline import FrozenEncoderClassifier

    df = pd.read_parquet(claims)
    FrozenEncoderClassifier("minilm").fit(df["text"].tolist(), df["is_green"].tolist()).save_pretrained(
        tmp_path / "clf"
    )
    local, on_ray = _both(PredictJob(str(tmp_path / "clf")), [claims], tmp_path, shard_rows=10)
    assert local.column("id").to_pylist() == df["id"].tolist()
    assert local.column("p_green").to_pylist() == on_ray.column("p_green").to_pylist()
    assert local.equals(on_ray)


def test_a_bad_column_is_a_patentlab_error_on_ray(local_ray, claims, tmp_path):
    with pytest.raises(PatentlabError, match="no column 'abstract'"):
        run_job(
            EmbedJob("minilm", text_column="abstract"), [claims], tmp_path, engine="ray", show_progress=False
        )


@pytest.mark.heavy
def test_generate_on_ray_equals_local(local_ray, tmp_path):
    ids = write_count_input(tmp_path / "ids.parquet", 4)
    job = GenerateJob(max_new_tokens=24, batch_size=2, seed=7)
    local, on_ray = _both(job, [ids], tmp_path, shard_rows=2)
    assert local.column("text").to_pylist() == on_ray.column("text").to_pylist()
    assert local.equals(on_ray)
    assert len(set(local.column("seed").to_pylist())) == 2  # one seed per shard
