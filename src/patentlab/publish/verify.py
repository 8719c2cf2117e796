"""``patentlab publish verify``: check a publication folder and name anything that was altered.

Checks, in order:

1. every log entry parses, its record hashes to the ``record_sha256`` in its leaf, its leaf
   agrees with its record (id, publication time), and its bytes are the canonical form written;
2. every tree head is signed by the publisher's key, its root is the tree hash of the entries it
   covers, sizes and timestamps never go back, and each head is consistent with the one before
   (an RFC 9162 consistency proof, verified with the RFC's algorithm);
3. the inclusion proof of each invention asked for, against the latest signed head;
4. a tree head saved earlier (``--since``): signed, and consistent with today's log;
5. the derived files (exports, site, sitemap, feed) are exactly what the log produces.

Entries past the last signed head and a torn last line are not alterations (a run that was
interrupted; the next ``publish`` signs or drops them): they are reported as notes.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.publish.log import (
    BUNDLES_FILE,
    ENTRIES_FILE,
    HEADS_FILE,
    LOG_DIR,
    PublicationLog,
    TreeHead,
    bundle_signature_ok,
    canonical,
    parse_entry,
    read_lines,
    record_sha256,
)
from patentlab.publish.merkle import MerkleTree, ProofError, leaf_hash, verify_consistency, verify_inclusion

_LEAF_KEY, _RECORD_KEY = b'{"leaf":', b',"record":'


@dataclass
class VerifyReport:
    """What :func:`verify_publication` found; ``ok`` when nothing was altered."""

    entries: int = 0
    signed: int = 0
    heads: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    proven: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def check_inclusion(proof: dict[str, Any], entry: Any) -> str | None:
    """None when ``proof`` puts ``entry``'s leaf under its head's root, else the reason."""
    try:
        if canonical(proof["leaf"]) != canonical(entry.leaf()):
            return "the proof's leaf differs from the log entry"
        verify_inclusion(
            leaf_hash(canonical(proof["leaf"])),
            proof["leaf_index"],
            proof["tree_head"]["tree_size"],
            [bytes.fromhex(h) for h in proof["audit_path"]],
            bytes.fromhex(proof["tree_head"]["root_hash"]),
        )
    except (ProofError, KeyError, ValueError, TypeError) as exc:
        return str(exc) or type(exc).__name__
    return None


def _check_entries(folder: Path, report: VerifyReport) -> tuple[list[Any], MerkleTree]:
    path = folder / LOG_DIR / ENTRIES_FILE
    lines, torn = read_lines(path)
    if torn:
        report.notes.append(
            f"{path}: {torn} bytes of an interrupted write after the last line (not published)"
        )
    entries: list[Any] = []
    hashes: list[bytes] = []
    for row, line in enumerate(lines, 1):
        try:
            entry = parse_entry(line, row, path)
        except PatentlabError as exc:
            report.problems.append(str(exc))
            entries.append(None)
            hashes.append(leaf_hash(line))  # keeps later indexes in place; the root will not match
            continue
        name = f"log entry {entry.index} ({entry.id})"
        record = entry.record
        canonical_line = line + b"\n" == entry.line()
        if canonical_line:
            # One encoding per entry: the leaf and the record are byte slices of the canonical line.
            cut = line.index(_RECORD_KEY)
            leaf_bytes, record_bytes = line[len(_LEAF_KEY) : cut], line[cut + len(_RECORD_KEY) : -1]
            record_ok = hashlib.sha256(record_bytes).hexdigest() == entry.record_sha256
            hashes.append(leaf_hash(leaf_bytes))
        else:
            record_ok = record_sha256(record) == entry.record_sha256
            hashes.append(entry.leaf_hash())
        if not record_ok:
            report.problems.append(f"{name}: its record was altered (SHA-256 differs from the signed leaf)")
        elif record.get("id") != entry.id or record.get("published_at") != entry.published_at:
            report.problems.append(f"{name}: the leaf's id or publication time differs from its record")
        elif not canonical_line:
            report.problems.append(
                f"{name}: its bytes were altered (not the canonical form it was written in)"
            )
        entries.append(entry)
    tree = MerkleTree(hashes)
    report.entries = len(entries)
    return entries, tree


def _check_heads(
    folder: Path, tree: MerkleTree, trusted_key: str | None, report: VerifyReport
) -> list[TreeHead]:
    path = folder / LOG_DIR / HEADS_FILE
    lines, torn = read_lines(path)
    if torn:
        report.notes.append(f"{path}: {torn} bytes of an interrupted write after the last head (not signed)")
    log = PublicationLog(folder)
    key = trusted_key or log.public_key()
    heads: list[TreeHead] = []
    prev: TreeHead | None = None
    for i, line in enumerate(lines):
        name = f"tree head {i}"
        try:
            head = TreeHead.from_dict(json.loads(line), f"{path}: {name}")
        except (ValueError, PatentlabError) as exc:
            report.problems.append(
                str(exc) if isinstance(exc, PatentlabError) else f"{path}: {name} is damaged"
            )
            continue
        name = f"tree head {i} (size {head.tree_size}, {head.timestamp})"
        if line != canonical(head.to_dict()):
            report.problems.append(
                f"{name}: its bytes were altered (not the canonical form it was written in)"
            )
        key = key or head.public_key
        if head.public_key != key:
            report.problems.append(
                f"{name}: signed by key {head.public_key[:16]}…, not the publisher's {key[:16]}…"
            )
        elif not head.signature_ok():
            report.problems.append(f"{name}: bad signature (the head or its signature was altered)")
        if head.tree_size > len(tree):
            report.problems.append(
                f"{path.parent / ENTRIES_FILE}: truncated: {name} signs {head.tree_size} entries, "
                f"the log holds {len(tree)} (entry {len(tree)} onwards is missing)"
            )
            heads.append(head)
            continue
        if tree.root(head.tree_size).hex() != head.root_hash:
            first = prev.tree_size if prev and prev.tree_size <= head.tree_size else 0
            report.problems.append(
                f"{name}: root hash does not match the log's entries {first}..{head.tree_size - 1} "
                "(an entry in that range, or the head, was altered)"
            )
        if prev is not None:
            if head.timestamp < prev.timestamp:
                report.problems.append(f"{name}: timestamp goes back from {prev.timestamp}")
            try:
                proof = tree.consistency_proof(prev.tree_size, head.tree_size)
                verify_consistency(
                    prev.tree_size,
                    head.tree_size,
                    bytes.fromhex(prev.root_hash),
                    bytes.fromhex(head.root_hash),
                    proof,
                )
            except (ProofError, ValueError) as exc:
                report.problems.append(f"{name}: not consistent with tree head {i - 1}: {exc}")
        heads.append(head)
        prev = head
    report.heads = len(heads)
    return heads


def _check_bundles(
    folder: Path, by_id: dict[str, Any], head_key: str | None, trusted_key: str | None, report: VerifyReport
) -> None:
    """Each accepted-bundle line is signed by the publisher and names entries of that bundle."""
    path = folder / LOG_DIR / BUNDLES_FILE
    lines, torn = read_lines(path)
    if torn:
        report.notes.append(f"{path}: {torn} bytes of an interrupted write after the last line")
    key = trusted_key or PublicationLog(folder).public_key() or head_key
    for row, line in enumerate(lines, 1):
        try:
            info = json.loads(line)
            bundle = info["bundle"]
        except (ValueError, KeyError, TypeError):
            report.problems.append(f"{path}: row {row}: damaged")
            continue
        name = f"{path}: accepted bundle {str(bundle)[:16]}… (row {row})"
        if key is None or not bundle_signature_ok(info, key) or line != canonical(info):
            report.problems.append(f"{name}: bad signature (the line was altered)")
            continue
        for invention in info.get("accepted") or []:
            entry = by_id.get(invention)
            if entry is None or entry.bundle != bundle:
                report.problems.append(
                    f"{name}: lists {invention}, which the log does not hold from that bundle"
                )


def _check_derived(folder: Path, report: VerifyReport) -> None:
    """Rebuild the derived files from the log and compare them byte for byte."""
    from patentlab.publish.publish import DERIVED, PublicationSettings, build_derived

    try:
        log = PublicationLog.read(folder)
        log.check_against_heads()
    except PatentlabError:
        return  # the log itself is damaged or altered: already reported, nothing to rebuild from
    with tempfile.TemporaryDirectory(prefix="patentlab-verify-") as tmp:
        build_derived(log, Path(tmp), PublicationSettings.load(folder))
        for name in DERIVED:
            expected, actual = Path(tmp) / name, folder / name
            if expected.is_file():
                if not actual.is_file():
                    report.problems.append(f"{actual}: missing (rerun 'patentlab publish run' to rebuild it)")
                elif not filecmp.cmp(expected, actual, shallow=False):
                    report.problems.append(f"{actual}: altered (differs from what the log produces)")
                continue
            want = {p.relative_to(expected) for p in expected.rglob("*") if p.is_file()}
            have = (
                {p.relative_to(actual) for p in actual.rglob("*") if p.is_file()}
                if actual.is_dir()
                else set()
            )
            for rel in sorted(want - have):
                report.problems.append(f"{actual / rel}: missing")
            for rel in sorted(have - want):
                report.problems.append(f"{actual / rel}: not produced by the log (added)")
            for rel in sorted(want & have):
                if not filecmp.cmp(expected / rel, actual / rel, shallow=False):
                    report.problems.append(f"{actual / rel}: altered (differs from what the log produces)")


def verify_publication(
    folder: str | Path,
    *,
    ids: list[str] | tuple[str, ...] = (),
    since: str | Path | dict[str, Any] | None = None,
    trusted_key: str | None = None,
    files: bool = True,
) -> VerifyReport:
    """Verify the log, proofs, signatures and derived files of a publication folder.

    Args:
        folder: a publication folder (``patentlab publish run`` output).
        ids: inventions whose inclusion proof to check against the latest signed head.
        since: a tree head saved earlier (a JSON file or dict) that today's log must extend.
        trusted_key: the publisher's public key (hex) to trust instead of ``log/publisher.pub``.
        files: also rebuild and compare the derived files.
    """
    folder = Path(folder)
    if not (folder / LOG_DIR / ENTRIES_FILE).is_file():
        raise PatentlabError("not a publication folder with a log (no log/entries.jsonl)", path=folder)
    report = VerifyReport()
    entries, tree = _check_entries(folder, report)
    heads = _check_heads(folder, tree, trusted_key, report)
    latest = heads[-1] if heads else None
    if latest is None:
        report.problems.append(f"{folder / LOG_DIR / HEADS_FILE}: no signed tree head")
    report.signed = latest.tree_size if latest else 0
    if latest and len(entries) > latest.tree_size:
        report.notes.append(
            f"{len(entries) - latest.tree_size} log entries after the last signed head "
            "(an interrupted run; the next 'patentlab publish run' signs them)"
        )
    by_id = {e.id: e for e in entries if e is not None}
    for invention in ids:
        entry = by_id.get(invention)
        if entry is None:
            report.problems.append(f"invention {invention}: not in the log")
            continue
        if latest is None or entry.index >= latest.tree_size:
            report.problems.append(f"invention {invention}: not covered by a signed tree head")
            continue
        try:
            verify_inclusion(
                entry.leaf_hash(),
                entry.index,
                latest.tree_size,
                tree.inclusion_proof(entry.index, latest.tree_size),
                bytes.fromhex(latest.root_hash),
            )
            report.proven.append(invention)
        except (ProofError, ValueError) as exc:
            report.problems.append(
                f"invention {invention} (log entry {entry.index}): inclusion proof fails: {exc}"
            )
    _check_bundles(folder, by_id, heads[0].public_key if heads else None, trusted_key, report)
    if since is not None and latest is not None:
        _check_since(since, latest, tree, trusted_key or PublicationLog(folder).public_key(), report)
    if files:
        _check_derived(folder, report)
    return report


def _check_since(
    since: str | Path | dict[str, Any],
    latest: TreeHead,
    tree: MerkleTree,
    key: str | None,
    report: VerifyReport,
) -> None:
    if isinstance(since, dict):
        obj, where = since, "the given tree head"
    else:
        where = str(since)
        try:
            obj = json.loads(Path(since).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PatentlabError(f"cannot read a tree head ({exc})", path=since) from None
    obj = obj.get("tree_head", obj) if isinstance(obj, dict) else obj
    old = TreeHead.from_dict(obj, where)
    if key and old.public_key != key:
        report.problems.append(f"{where}: signed by another key than the publisher's")
    elif not old.signature_ok():
        report.problems.append(f"{where}: bad signature")
    try:
        if old.tree_size > latest.tree_size:
            raise ProofError(f"it is larger ({old.tree_size}) than today's log ({latest.tree_size})")
        verify_consistency(
            old.tree_size,
            latest.tree_size,
            bytes.fromhex(old.root_hash),
            bytes.fromhex(latest.root_hash),
            tree.consistency_proof(old.tree_size, latest.tree_size),
        )
    except (ProofError, ValueError) as exc:
        report.problems.append(f"{where}: today's log is not an extension of it: {exc}")
