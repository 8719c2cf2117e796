"""Contributions from anyone: signed bundles, re-vetting on acceptance, a named reason for every
refusal, nothing published ever changed, and ``kill -9`` during ``publish accept`` losing nothing."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from publish_data import FAST_VET, KNOWN, LOG_VET, load_records, novelty_index, write_gens

from patentlab.cli import main
from patentlab.publish.accept import accept_bundles, obviousness_reason
from patentlab.publish.contribute import make_bundle_pair, pack_bundle
from patentlab.publish.keys import generate_key
from patentlab.publish.log import ENTRIES_FILE, LOG_DIR, PublicationLog
from patentlab.publish.verify import verify_publication

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def records():
    return load_records()


@pytest.fixture(scope="module")
def index(records):
    return novelty_index(records)


def _edit(src: Path, dst: Path, change) -> Path:
    bundle = json.loads(src.read_text())
    change(bundle)
    dst.write_text(json.dumps(bundle))
    return dst


def test_keygen_pack_and_accept_with_a_reason_for_every_refusal(tmp_path, records, index, capsys):
    key = tmp_path / "alice.key"
    assert main(["contribute", "keygen", str(key)]) == 0
    assert key.stat().st_mode & 0o777 == 0o600
    alice = (tmp_path / "alice.key.pub").read_text().strip()
    gens = write_gens(tmp_path / "g.jsonl", records, [0, 1, 2, 20])  # record 20 is in the training data
    bundle = tmp_path / "alice.bundle.json"
    assert main(["contribute", "pack", str(gens), "--key", str(key), "--out", str(bundle)]) == 0
    manifest = json.loads(bundle.read_text())["manifest"]
    assert manifest["contributor"] == alice and manifest["weights_sha256"] == "cd" * 32
    assert manifest["seeds"] == [0, 1, 2, 20] and manifest["sampling"]["temperature"] == 0.8

    out = tmp_path / "pub"
    report = accept_bundles([bundle], out, training=index, vet_options=FAST_VET)
    (b,) = report.bundles
    assert b.reason is None and b.accepted == 3
    assert list(b.rejected) == [3] and b.rejected[3][1].startswith(
        "reproduction: copies " + records[20]["id"]
    )
    log = PublicationLog.read(out)
    assert {e.contributor for e in log.entries} == {alice} and {e.bundle for e in log.entries} == {
        b.bundle_id
    }
    assert all(e.record["contributor"] == alice for e in log.entries)
    page = (out / "site" / "inventions" / f"{log.entries[0].id}.html").read_text()
    assert f"contributed by key <code>{alice[:16]}" in page
    assert verify_publication(out).ok
    entries_before = (out / LOG_DIR / ENTRIES_FILE).read_bytes()

    # The same bundle again; a tampered twin; an altered manifest; a swapped key; a corrupted file.
    good, twin = make_bundle_pair(write_gens(tmp_path / "g2.jsonl", records, [3, 4]), tmp_path / "bob")
    other = generate_key(tmp_path / "mallory.key")
    altered = _edit(
        bundle, tmp_path / "altered.json", lambda x: x["manifest"]["sampling"].update(temperature=0.1)
    )
    swapped = _edit(
        bundle,
        tmp_path / "swapped.json",
        lambda x: x["manifest"].update(contributor=(tmp_path / "mallory.key.pub").read_text().strip()),
    )
    corrupted = tmp_path / "corrupted.json"
    corrupted.write_bytes(bundle.read_bytes()[:5000])
    assert other is not None
    report = accept_bundles(
        [bundle, good, twin, altered, swapped, corrupted], out, training=index, vet_options=FAST_VET
    )
    reasons = {Path(o.path).name: o.reason for o in report.bundles}
    assert reasons["alice.bundle.json"].startswith("bundle already accepted")
    assert reasons["contribution.bundle.json"] is None and report.bundles[1].accepted == 2
    assert reasons["contribution.tampered.bundle.json"] == (
        "tampered content: generation 0 does not match its signed hash"
    )
    assert reasons["altered.json"].startswith("bad signature") and reasons["swapped.json"].startswith(
        "bad signature"
    )
    assert reasons["corrupted.json"].startswith("corrupted: not a JSON bundle")
    # Nothing already published changed: the log only grew.
    assert (out / LOG_DIR / ENTRIES_FILE).read_bytes().startswith(entries_before)
    assert verify_publication(out).ok

    # A second contributor's copy of a published invention is refused as already published.
    carol = tmp_path / "carol.key"
    generate_key(carol)
    pack_bundle(write_gens(tmp_path / "g3.jsonl", records, [0, 5]), carol, tmp_path / "carol.json")
    (c,) = accept_bundles([tmp_path / "carol.json"], out, training=index, vet_options=FAST_VET).bundles
    dup_id, reason = c.rejected[0]
    assert c.accepted == 1 and reason.startswith(f"already published as {dup_id} at ") and dup_id in log.ids()

    # The CLI: one line per refused bundle, naming it, and a non-zero exit.
    capsys.readouterr()
    assert main(["publish", "accept", str(corrupted), str(bundle), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert (
        f"rejected bundle {corrupted}: corrupted" in err
        and f"rejected bundle {bundle}: bundle already accepted" in err
    )
    assert main(["contribute", "pack", str(gens), "--key", str(gens), "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(gens) in err and "not an unencrypted PEM private key" in err


def test_not_obvious_reasons_name_the_class():
    assert obviousness_reason({"class": "obvious_combination", "combination": ["A", "B"]}) is None
    assert obviousness_reason(None) is None
    assert obviousness_reason({"class": "anticipated", "combination": ["06837063"]}) == (
        "not obvious: anticipated by 06837063 (not novel)"
    )
    assert obviousness_reason({"class": "unsupported", "combination": []}).startswith(
        "not obvious: an element"
    )


@pytest.mark.heavy  # a 40 MB signed bundle, hashed twice: about a minute on 2 busy cores
def test_a_bundle_of_10000_with_one_reproduction(tmp_path, index):
    from publish_data import META

    from patentlab.data import sample_path
    from patentlab.generate.data import iter_full_records
    from patentlab.generate.formats import format_patent, prompt
    from patentlab.generate.generations import write_generations

    everything = [
        r
        for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])
        if r.get("title") and r.get("abstract") and len(r.get("claims") or []) > 2
    ]
    known = {everything[i]["id"] for i in KNOWN}
    fresh = [r for r in everything if r["id"] not in known][:40]  # 40 distinct inventions, repeated
    rows = [
        {"text": format_patent(fresh[i % len(fresh)]), "prompt": prompt(), "finished": True, "seed": i}
        for i in range(9_999)
    ]
    rows.insert(
        6_789, {"text": format_patent(everything[20]), "prompt": prompt(), "finished": True, "seed": 6_789}
    )
    gens = write_generations(tmp_path / "big.jsonl", rows, META)
    key = tmp_path / "k.key"
    generate_key(key)
    pack_bundle(gens, key, tmp_path / "big.bundle.json")
    started = time.perf_counter()
    (b,) = accept_bundles(
        [tmp_path / "big.bundle.json"], tmp_path / "pub", training=index, vet_options=LOG_VET
    ).bundles
    seconds = time.perf_counter() - started
    assert b.reason is None
    assert b.rejected[6_789][1].startswith("reproduction: copies " + everything[20]["id"])
    duplicates = [r for r in b.rejected.values() if r[1].startswith("duplicate of generation")]
    assert len(duplicates) == 9_999 - len(fresh)
    other = {k: v for k, v in b.rejected.items() if k != 6_789 and not v[1].startswith("duplicate of")}
    assert b.accepted + len(other) == len(fresh) and b.accepted >= 0.9 * len(fresh), other
    assert PublicationLog.read(tmp_path / "pub").signed_size == b.accepted
    print(
        f"10,000-generation bundle: {b.accepted} accepted, {len(duplicates)} duplicates, in {seconds:.1f} s"
    )


CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from publish_data import LOG_VET, load_records, novelty_index
from patentlab.publish.accept import accept_bundles
index = novelty_index(load_records())
print("ready", flush=True)
accept_bundles([sys.argv[3]], sys.argv[2], training=index, vet_options=LOG_VET)
print("done", flush=True)
"""


@pytest.mark.heavy  # five fresh interpreters, each killed mid-acceptance
def test_kill_9_during_accept_loses_nothing(tmp_path, records, index):
    key = tmp_path / "k.key"
    generate_key(key)
    bundle = tmp_path / "b.json"
    pack_bundle(write_gens(tmp_path / "g.jsonl", records, range(8)), key, bundle)

    def child(out):
        command = [sys.executable, "-c", CHILD, str(TESTS), str(out), str(bundle)]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        return proc

    # One whole acceptance, timed from "ready", so that the kills fall inside one on any machine.
    whole = child(tmp_path / "timed")
    started = time.perf_counter()
    assert whole.wait() == 0
    span = time.perf_counter() - started
    rng = random.Random(11)
    finished = 0
    for attempt in range(5):
        out = tmp_path / f"pub{attempt}"
        proc = child(out)
        time.sleep(rng.uniform(0, span))
        proc.send_signal(signal.SIGKILL)
        finished += proc.wait() == 0
        entries = out / LOG_DIR / ENTRIES_FILE
        before = entries.read_bytes() if entries.exists() else b""
        complete = before[: before.rfind(b"\n") + 1]
        (b,) = accept_bundles([bundle], out, training=index, vet_options=LOG_VET).bundles
        if b.reason:  # the killed run had finished: the bundle is complete
            assert b.reason.startswith("bundle already accepted")
        assert entries.read_bytes().startswith(complete), f"attempt {attempt}: a logged entry changed"
        log = PublicationLog.read(out)
        assert len(log) == log.signed_size == 8 and len(log.ids()) == 8
        assert [x["bundle"] for x in log.bundles] == [b.bundle_id or log.bundles[0]["bundle"]]
        assert len(log.bundles[0]["accepted"]) == 8
        assert verify_publication(out).ok
    assert finished < 5, f"no attempt was interrupted within the {span:.1f} s an acceptance takes"
