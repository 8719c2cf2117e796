"""Sharded Parquet in and out: a fixed shard plan, atomic part files and a manifest for resume.

A job's input (one or more Parquet files, or folders of them) is cut into shards of at most
``shard_rows`` consecutive rows; a shard never spans two files. Shard ``k`` becomes the output file
``part-0000k.parquet``, written to a temporary name and renamed into place, so a part file that
exists is complete. ``manifest.json`` records what the job computes (its *spec*: kind, model,
parameters, the input files' sizes and times, the shard size); a restarted job with the same spec
skips the parts already there, and a different job refuses to mix its output into the folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from patentlab.errors import PatentlabError
from patentlab.storage import atomic_path, read_json, write_json

MANIFEST = "manifest.json"
PART_GLOB = "part-*.parquet"
MANIFEST_FORMAT = "patentlab-scale/1"


@dataclass(frozen=True)
class Shard:
    """Rows ``offset … offset + rows - 1`` of one input file; output ``part-<index>.parquet``."""

    index: int
    path: str
    offset: int
    rows: int

    @property
    def part_name(self) -> str:
        return f"part-{self.index:05d}.parquet"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Input Parquet files in a stable order: files as given, folders as their sorted ``*.parquet``."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.glob("*.parquet"))
            if not found:
                raise PatentlabError("the folder holds no .parquet files", path=path)
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise PatentlabError("no such file or folder", path=path)
    if not files:
        raise PatentlabError("no input files given")
    return files


def _num_rows(path: Path) -> int:
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise PatentlabError(f"not a Parquet file: {exc}", path=path) from exc


def plan_shards(inputs: Sequence[str | Path], shard_rows: int) -> list[Shard]:
    """Cut the inputs into shards of at most ``shard_rows`` rows (the plan every engine follows)."""
    if shard_rows < 1:
        raise PatentlabError(f"shard_rows must be at least 1, not {shard_rows}", field="shard_rows")
    shards: list[Shard] = []
    for path in expand_inputs(inputs):
        n = _num_rows(path)
        for offset in range(0, n, shard_rows):
            shards.append(Shard(len(shards), str(path.resolve()), offset, min(shard_rows, n - offset)))
    return shards


def input_fingerprint(inputs: Sequence[str | Path]) -> list[list[Any]]:
    """Path, size and modification time of each input file: a changed input is a different job."""
    out = []
    for path in expand_inputs(inputs):
        st = path.stat()
        out.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
    return out


def read_shard(shard: Shard, columns: Sequence[str] | None = None) -> pa.Table:
    """The shard's rows, reading only the row groups that hold them."""
    try:
        pf = pq.ParquetFile(shard.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise PatentlabError(f"not a Parquet file: {exc}", path=shard.path) from exc
    if columns is not None:
        missing = [c for c in columns if c not in pf.schema_arrow.names]
        if missing:
            raise PatentlabError(f"missing column(s) {', '.join(missing)}", path=shard.path)
    groups, first_row, start = [], None, 0
    end = shard.offset + shard.rows
    for g in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(g).num_rows
        if start < end and start + n > shard.offset:
            groups.append(g)
            first_row = start if first_row is None else first_row
        start += n
    table = pf.read_row_groups(groups, columns=list(columns) if columns is not None else None)
    return table.slice(shard.offset - (first_row or 0), shard.rows)


def write_part(out_dir: str | Path, shard: Shard, table: pa.Table) -> Path:
    """Write one shard's result atomically (temporary file, then rename)."""
    target = Path(out_dir) / shard.part_name
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return target


class ShardedOutput:
    """The output folder of one job: its manifest, the finished parts, and what is left to do.

    Args:
        out_dir: the folder for ``part-*.parquet`` and ``manifest.json``.
        spec: everything that determines the output (compared on resume).
        shards: the shard plan.
        overwrite: discard an existing output of a *different* job instead of refusing.
    """

    def __init__(
        self, out_dir: str | Path, spec: dict[str, Any], shards: Sequence[Shard], *, overwrite: bool = False
    ) -> None:
        self.dir = Path(out_dir)
        self.spec = json.loads(json.dumps(spec, default=str))  # as it reads back from JSON
        self.shards = list(shards)
        self.dir.mkdir(parents=True, exist_ok=True)
        # Leftovers of a run killed while writing a part: never complete, always safe to drop.
        for tmp in self.dir.glob(".part-*.tmp"):
            tmp.unlink(missing_ok=True)
        old = self.read_manifest(self.dir)
        if old is not None and old.get("spec") != self.spec:
            if not overwrite:
                raise PatentlabError(
                    "the folder holds the output of a different job (other input, model or settings); "
                    "use another folder or --overwrite",
                    path=self.dir,
                )
            for part in self.dir.glob(PART_GLOB):
                part.unlink()
        self._write_manifest(complete=False)

    @staticmethod
    def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
        path = Path(out_dir) / MANIFEST
        if not path.exists():
            return None
        return read_json(path, "the manifest")

    def _write_manifest(self, *, complete: bool, extra: dict[str, Any] | None = None) -> None:
        write_json(
            self.dir / MANIFEST,
            {
                "format": MANIFEST_FORMAT,
                "spec": self.spec,
                "complete": complete,
                "shards": [s.to_dict() for s in self.shards],
                **(extra or {}),
            },
        )

    def is_done(self, shard: Shard) -> bool:
        return (self.dir / shard.part_name).exists()

    def pending(self) -> list[Shard]:
        """Shards whose part file is not there yet, in plan order."""
        return [s for s in self.shards if not self.is_done(s)]

    def finish(self, stats: dict[str, Any]) -> None:
        """Mark the job complete once every part exists."""
        left = self.pending()
        if left:
            raise PatentlabError(f"{len(left)} shard(s) have no output yet", path=self.dir)
        self._write_manifest(complete=True, extra={"stats": stats})


def part_files(out_dir: str | Path) -> list[Path]:
    """The finished part files of a job's output, in shard order."""
    return sorted(Path(out_dir).glob(PART_GLOB))


def read_output(out_dir: str | Path, columns: Iterable[str] | None = None) -> pa.Table:
    """A finished job's output as one table, rows in input order."""
    out_dir = Path(out_dir)
    manifest = ShardedOutput.read_manifest(out_dir)
    if manifest is None:
        raise PatentlabError(f"not a scale job's output (no {MANIFEST})", path=out_dir)
    if not manifest.get("complete"):
        raise PatentlabError("the job has not finished; run it again to resume", path=out_dir)
    parts = [out_dir / Shard(**s).part_name for s in manifest["shards"]]
    cols = list(columns) if columns is not None else None
    tables = [pq.read_table(p, columns=cols) for p in parts]
    return pa.concat_tables(tables) if tables else pa.table({})


def write_count_input(path: str | Path, count: int, prefix: str = "gen") -> Path:
    """A Parquet input of ``count`` ids (``gen-0000000``…) for unconditional generation.

    Written once: a later run with the same count reuses the file, so the job's spec (which
    includes the input's time) stays the same and the job resumes.
    """
    if count < 1:
        raise PatentlabError(f"count must be at least 1, not {count}", field="count")
    path = Path(path)
    if path.exists() and _num_rows(path) == count:
        return path
    ids = pa.array([f"{prefix}-{i:07d}" for i in range(count)], pa.string())
    with atomic_path(path) as tmp:
        pq.write_table(pa.table({"id": ids}), tmp)
    return path


def cpu_count() -> int:
    """CPUs this process may use (respects affinity masks, unlike ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
