"""The signed publication log: tree heads, proofs, verification of every published byte, bad
logs refused with one-line errors, and ``kill -9`` in mid-publication losing nothing."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from publish_data import load_records, novelty_index, vet

from patentlab.cli import main
from patentlab.publish.log import ENTRIES_FILE, HEADS_FILE, LOG_DIR, PublicationLog
from patentlab.publish.merkle import verify_inclusion
from patentlab.publish.publish import publish
from patentlab.publish.verify import verify_publication

T1, T2 = "2026-01-02T03:04:05Z", "2026-02-01T00:00:00Z"


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """Four vetted runs of real patents: 2 + 2 + 2 new inventions, and one with a reproduction."""
    records = load_records()
    index = novelty_index(records)
    tmp = tmp_path_factory.mktemp("vetted")
    return [
        vet(tmp, records, index, picks, f"b{i}") for i, picks in enumerate([[0, 1], [2, 3], [4, 5], [6, 20]])
    ]


@pytest.fixture
def published(tmp_path, batches):
    out = tmp_path / "pub"
    publish(batches[0], out, published_at=T1)
    publish(batches[1], out, published_at=T2)
    return out


def test_each_run_signs_a_tree_head_and_everything_verifies(published, batches, tmp_path, capsys):
    log = PublicationLog.read(published)
    assert [h.tree_size for h in log.heads] == [2, 4] and all(h.signature_ok() for h in log.heads)
    assert [h.timestamp for h in log.heads] == [T1, T2]
    assert (published / LOG_DIR / "publisher.pub").read_text().strip() == log.heads[0].public_key
    # Publishing the same batch again changes nothing and signs nothing.
    before = (published / LOG_DIR / HEADS_FILE).read_bytes()
    assert publish(batches[1], published).new == 0
    assert (published / LOG_DIR / HEADS_FILE).read_bytes() == before

    first = log.entries[0]
    proof = log.inclusion(first.id)
    verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["leaf_index"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(log.head.root_hash),
    )
    report = verify_publication(published, ids=[first.id])
    assert report.ok and report.proven == [first.id] and (report.signed, report.heads) == (4, 2)

    old_head = tmp_path / "head0.json"
    old_head.write_text(json.dumps(log.heads[0].to_dict()))
    assert main(["publish", "verify", str(published), "--id", first.id, "--since", str(old_head)]) == 0
    out = capsys.readouterr().out
    assert f"inclusion proof OK: {first.id}" in out and "OK: 4 entries under 2 signed tree heads" in out
    page = (published / "site" / "inventions" / f"{first.id}.html").read_text()
    assert proof["leaf_hash"] in page and log.head.root_hash in page


def _flip(path: Path, pos: int) -> bytes:
    data = path.read_bytes()
    changed = bytearray(data)
    changed[pos] = changed[pos] ^ 0x01 if chr(changed[pos] ^ 0x01).isprintable() else ord("#")
    path.write_bytes(bytes(changed))
    return data


def test_tampering_with_any_published_byte_fails_verify(published):
    rng = random.Random(3)
    files = sorted(p for p in published.rglob("*") if p.is_file() and p.name != ".lock")
    assert len(files) >= 12
    for path in files:
        size = path.stat().st_size
        for pos in sorted({0, size // 2, size - 1, rng.randrange(size)}):
            original = _flip(path, pos)
            report = verify_publication(published)
            path.write_bytes(original)
            assert not report.ok, f"flipping byte {pos} of {path.relative_to(published)} went unnoticed"
    assert verify_publication(published).ok


def test_verify_names_the_altered_entry_head_and_file(published, capsys):
    entries = published / LOG_DIR / ENTRIES_FILE
    lines = entries.read_text().splitlines(keepends=True)
    obj = json.loads(lines[1])
    obj["record"]["abstract"] = "Something else entirely."
    lines[1] = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    entries.write_text("".join(lines))
    assert main(["publish", "verify", str(published)]) == 1
    err = capsys.readouterr().err
    assert f"log entry 1 ({obj['leaf']['id']}): its record was altered" in err

    shutil.copy(entries, entries.with_suffix(".bak"))
    lines[1] = lines[1].replace(obj["leaf"]["published_at"], "2020-01-01T00:00:00Z")  # backdating
    heads = published / LOG_DIR / HEADS_FILE
    head = json.loads(heads.read_text().splitlines()[0])
    head["timestamp"] = "2019-01-01T00:00:00Z"
    heads.write_text(
        json.dumps(head, sort_keys=True, separators=(",", ":")) + "\n" + heads.read_text().split("\n", 1)[1]
    )
    report = verify_publication(published)
    assert any(
        p.startswith("tree head 0 (size 2, 2019-01-01T00:00:00Z): bad signature") for p in report.problems
    )

    page = published / "site" / "by-cpc.html"
    page.write_text(page.read_text().replace("<h1>", "<h1>Forged "))
    assert any(
        p == f"{page}: altered (differs from what the log produces)"
        for p in verify_publication(published).problems
    )


def test_a_truncated_log_or_a_mismatched_head_is_refused_with_one_line(published, batches, capsys):
    entries = published / LOG_DIR / ENTRIES_FILE
    data = entries.read_bytes()
    entries.write_bytes(
        data[: data.index(b"\n") + 1] + data[data.index(b"\n") + 1 :][:40]
    )  # 1 line + a torn one
    assert main(["publish", "run", str(batches[2]), "--out", str(published)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "truncated: " in err and "signs 4 entries but the log holds 1 (entry 1 onwards is missing)" in err
    assert entries.read_bytes() == data[: data.index(b"\n") + 1]  # the torn tail went, nothing else

    entries.write_bytes(data.replace(b"2026-02-01T00:00:00Z", b"2026-02-01T00:00:01Z", 1))
    assert main(["publish", "run", str(batches[2]), "--out", str(published)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "tree head 1 does not match the log's entries" in err
    entries.write_bytes(data)
    assert main(["publish", "run", str(batches[2]), "--out", str(published)]) == 0
    assert verify_publication(published).ok


CHILD = """
import sys
from patentlab.publish.publish import publish
out, *batches = sys.argv[1:]
print("ready", flush=True)
for b in batches:
    publish(b, out)
print("done", flush=True)
"""


def _kill_at_random(cmd: list[str], rng: random.Random, window: float) -> bool:
    """Start ``cmd``, wait for it to say ready, SIGKILL it at a random moment; True if it finished."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(rng.uniform(0, window))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc.returncode == 0


def _signed_state(folder: Path) -> tuple[list[bytes], int]:
    """The entry lines a signed head covers, read raw (before any recovery)."""
    lines = (folder / LOG_DIR / ENTRIES_FILE).read_bytes().split(b"\n") if (folder / LOG_DIR).is_dir() else []
    heads = (
        [h for h in (folder / LOG_DIR / HEADS_FILE).read_bytes().split(b"\n") if h.endswith(b"}")]
        if (folder / LOG_DIR / HEADS_FILE).exists()
        else []
    )
    size = json.loads(heads[-1])["tree_size"] if heads else 0
    return lines[:size], size


@pytest.mark.heavy  # five fresh interpreters, each killed mid-run (about a minute on 2 busy cores)
def test_kill_9_during_publish_loses_nothing(tmp_path, batches):
    rng = random.Random(2026)
    finished = 0
    for attempt in range(5):
        out = tmp_path / f"pub{attempt}"
        cmd = [sys.executable, "-c", CHILD, str(out), *map(str, batches)]
        finished += _kill_at_random(cmd, rng, window=1.2)
        signed, size = _signed_state(out)
        # Before any recovery: whatever a head signed verifies (only derived files may be stale).
        if size:
            report = verify_publication(out)
            assert not [p for p in report.problems if "log entry" in p or "tree head" in p], report.problems
        for b in batches:  # rerun: completes the interrupted publication
            publish(b, out)
        after = (out / LOG_DIR / ENTRIES_FILE).read_bytes().split(b"\n")
        assert after[:size] == signed, f"attempt {attempt}: a signed entry changed"
        log = PublicationLog.read(out)
        assert len(log) == log.signed_size == 7 and len(log.ids()) == 7  # 7 new inventions, each once
        assert verify_publication(out).ok
    assert finished < 5, "no attempt was interrupted: widen the window"


def test_the_demo_helper_returns_a_verified_inclusion_proof(tmp_path, batches):
    from patentlab.pipeline.vet import publish_and_prove

    report, proof = publish_and_prove(batches[0], tmp_path / "pub")
    assert report.new == 2 and proof["id"] == report.new_ids[0]
    assert proof["tree_head"]["tree_size"] == 2 and len(proof["audit_path"]) == 1
    verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["leaf_index"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(proof["tree_head"]["root_hash"]),
    )
