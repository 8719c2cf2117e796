"""The shard plan, atomic part files and the manifest that makes scale jobs resumable (no models)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from patentlab.errors import PatentlabError
from patentlab.scale.shards import (
    ShardedOutput,
    plan_shards,
    read_output,
    read_shard,
    write_count_input,
    write_part,
)


@pytest.fixture
def inputs(tmp_path):
    """Two Parquet files with small row groups, so shards cross row-group boundaries."""
    a, b = tmp_path / "in" / "a.parquet", tmp_path / "in" / "b.parquet"
    a.parent.mkdir()
    pq.write_table(pa.table({"id": [f"a{i}" for i in range(23)], "n": list(range(23))}), a, row_group_size=5)
    pq.write_table(pa.table({"id": [f"b{i}" for i in range(7)], "n": list(range(7))}), b, row_group_size=3)
    return a, b


def test_plan_covers_every_row_once_in_order(inputs):
    shards = plan_shards([inputs[0].parent], shard_rows=8)
    assert [(s.offset, s.rows) for s in shards] == [(0, 8), (8, 8), (16, 7), (0, 7)]  # never spans files
    assert [s.index for s in shards] == [0, 1, 2, 3]
    ids = [i for s in shards for i in read_shard(s, ["id"]).column("id").to_pylist()]
    assert ids == [f"a{i}" for i in range(23)] + [f"b{i}" for i in range(7)]


def test_plan_rejects_bad_input(tmp_path):
    with pytest.raises(PatentlabError, match="no such file"):
        plan_shards([tmp_path / "nope.parquet"], 10)
    (tmp_path / "x.parquet").write_text("not parquet")
    with pytest.raises(PatentlabError, match="not a Parquet file"):
        plan_shards([tmp_path / "x.parquet"], 10)
    with pytest.raises(PatentlabError, match="shard_rows"):
        plan_shards([tmp_path / "x.parquet"], 0)


def test_read_shard_names_missing_columns(inputs):
    shard = plan_shards([inputs[0]], 10)[0]
    with pytest.raises(PatentlabError, match="missing column"):
        read_shard(shard, ["id", "text"])


def test_manifest_resume_and_refusal(inputs, tmp_path):
    shards = plan_shards(list(inputs), 10)
    out = tmp_path / "out"
    ShardedOutput(out, {"kind": "t", "x": 1}, shards)
    write_part(out, shards[1], pa.table({"id": ["x"]}))
    (out / ".part-00002.parquet.abc.tmp").write_bytes(b"half a file")  # a kill -9 mid-write
    again = ShardedOutput(out, {"kind": "t", "x": 1}, shards)
    assert [s.index for s in again.pending()] == [0, 2, 3]
    assert not list(out.glob(".part-*.tmp"))
    with pytest.raises(PatentlabError, match="different job"):
        ShardedOutput(out, {"kind": "t", "x": 2}, shards)
    with pytest.raises(PatentlabError, match="has not finished"):
        read_output(out)
    with pytest.raises(PatentlabError, match="no output yet"):
        again.finish({})
    fresh = ShardedOutput(out, {"kind": "t", "x": 2}, shards, overwrite=True)
    assert len(fresh.pending()) == len(shards)
    for s in shards:
        write_part(out, s, read_shard(s))
    fresh.finish({"rows": 30})
    assert read_output(out).column("n").to_pylist() == list(range(23)) + list(range(7))
    assert ShardedOutput.read_manifest(out)["complete"] is True


def test_count_input_is_written_once(tmp_path):
    path = write_count_input(tmp_path / "ids.parquet", 5)
    mtime = path.stat().st_mtime_ns
    assert write_count_input(path, 5).stat().st_mtime_ns == mtime  # same count: reused, spec unchanged
    assert pq.read_table(write_count_input(path, 3)).column("id").to_pylist() == [
        "gen-0000000",
        "gen-0000001",
        "gen-0000002",
    ]
    with pytest.raises(PatentlabError, match="count"):
        write_count_input(path, 0)
