"""The append-only publication log: the one durable record of what was published, and when.

Layout of ``<publication folder>/log/``::

    entries.jsonl   one line per published invention: {"leaf": {...}, "record": {...}}
    heads.jsonl     one signed tree head per publication run
    bundles.jsonl   contributor bundles whose acceptance finished
    publisher.pub   the publisher's Ed25519 public key (hex)

The Merkle leaf of an entry is the canonical JSON of its ``leaf`` object: the invention's
content-hash ``id``, its UTC ``published_at``, its ``index`` in the log, the SHA-256 of its full
record (so every byte of the record is covered), and the contributor and bundle it came from
(null for the publisher's own runs). A tree head signs ``(tree_size, root_hash, timestamp)``.

Durability: lines are only ever appended, each batch is fsynced before its tree head is signed,
and a head is fsynced before the derived files (site, exports) are rewritten. A ``kill -9`` can
leave at most one torn last line per file; the writer's recovery rule drops bytes after the last
newline (they were never acknowledged), and entries past the last signed head are signed by the
next run. Nothing before the last newline is ever rewritten. A file that lost signed lines, or
whose entries no longer hash to a signed root, is refused with an error naming the entry or head.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from patentlab.errors import PatentlabError
from patentlab.publish import keys
from patentlab.publish.merkle import MerkleTree, leaf_hash

LOG_DIR = "log"
ENTRIES_FILE = "entries.jsonl"
HEADS_FILE = "heads.jsonl"
BUNDLES_FILE = "bundles.jsonl"
PUBLIC_KEY_FILE = "publisher.pub"
LOCK_FILE = ".lock"
#: What a tree head signature covers, before the size, root and timestamp lines.
HEAD_DOMAIN = b"patentlab publication log tree head v1\n"
BUNDLE_DOMAIN = b"patentlab accepted bundle v1\n"


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, UTF-8. What is hashed and signed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_sha256(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One published invention in the log."""

    index: int
    id: str
    published_at: str
    record_sha256: str
    contributor: str | None
    bundle: str | None
    record: dict[str, Any]

    def leaf(self) -> dict[str, Any]:
        """The Merkle leaf (everything but the record, which enters through its hash)."""
        return {
            "bundle": self.bundle,
            "contributor": self.contributor,
            "id": self.id,
            "index": self.index,
            "published_at": self.published_at,
            "record_sha256": self.record_sha256,
        }

    def leaf_hash(self) -> bytes:
        return leaf_hash(canonical(self.leaf()))

    def line(self) -> bytes:
        return canonical({"leaf": self.leaf(), "record": self.record}) + b"\n"


@dataclass(frozen=True)
class TreeHead:
    """A signed statement: the log held ``tree_size`` entries with this root at ``timestamp``."""

    tree_size: int
    root_hash: str
    timestamp: str
    public_key: str
    signature: str

    @staticmethod
    def message(tree_size: int, root_hash: str, timestamp: str) -> bytes:
        return HEAD_DOMAIN + f"{tree_size}\n{root_hash}\n{timestamp}\n".encode()

    def signature_ok(self) -> bool:
        return keys.verify(
            self.public_key, self.message(self.tree_size, self.root_hash, self.timestamp), self.signature
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: Any, where: str) -> TreeHead:
        try:
            head = cls(**{k: obj[k] for k in cls.__dataclass_fields__})
        except (KeyError, TypeError):
            raise PatentlabError(
                f"{where}: not a tree head (needs {', '.join(cls.__dataclass_fields__)})"
            ) from None
        if not isinstance(head.tree_size, int) or head.tree_size < 0:
            raise PatentlabError(f"{where}: tree_size must be a non-negative integer")
        return head


def read_lines(path: Path) -> tuple[list[bytes], int]:
    """The complete lines of an append-only file and the number of torn bytes after the last one."""
    if not path.is_file():
        return [], 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    return data[:end].splitlines(), len(data) - end


def parse_entry(line: bytes, row: int, path: Path) -> Entry:
    """One line of ``entries.jsonl``; a damaged line is an error naming its row."""
    try:
        obj = json.loads(line)
        leaf, record = obj["leaf"], obj["record"]
        entry = Entry(
            index=leaf["index"],
            id=leaf["id"],
            published_at=leaf["published_at"],
            record_sha256=leaf["record_sha256"],
            contributor=leaf["contributor"],
            bundle=leaf["bundle"],
            record=record,
        )
    except (ValueError, KeyError, TypeError):
        raise PatentlabError(f"log entry {row - 1} is damaged (not a log line)", path=path, row=row) from None
    if entry.index != row - 1:
        raise PatentlabError(f"log entry {row - 1} says it is entry {entry.index}", path=path, row=row)
    return entry


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _append(path: Path, lines: Sequence[bytes]) -> None:
    """Append whole lines and fsync them (and the folder, when the file is new)."""
    new = not path.exists()
    with open(path, "ab") as fh:
        for line in lines:
            fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
    if new:
        _fsync_dir(path.parent)


class PublicationLog:
    """The log of one publication folder, read fully into memory (entries, heads, Merkle tree)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.dir = self.folder / LOG_DIR
        self.entries: list[Entry] = []
        self.heads: list[TreeHead] = []
        self.bundles: list[dict[str, Any]] = []
        self.tree = MerkleTree()
        self.torn: dict[str, int] = {}

    # -- reading -------------------------------------------------------------------------------
    @classmethod
    def read(cls, folder: str | Path) -> PublicationLog:
        """Read the log strictly: a damaged line raises, a torn last line is noted in ``torn``."""
        log = cls(folder)
        lines, torn = read_lines(log.path(ENTRIES_FILE))
        if torn:
            log.torn[ENTRIES_FILE] = torn
        log.entries = [parse_entry(line, i + 1, log.path(ENTRIES_FILE)) for i, line in enumerate(lines)]
        log.tree = MerkleTree(e.leaf_hash() for e in log.entries)
        head_lines, torn = read_lines(log.path(HEADS_FILE))
        if torn:
            log.torn[HEADS_FILE] = torn
        for i, line in enumerate(head_lines):
            where = f"{log.path(HEADS_FILE)}: tree head {i}"
            try:
                obj = json.loads(line)
            except ValueError:
                raise PatentlabError(f"{where} is damaged (not JSON)") from None
            log.heads.append(TreeHead.from_dict(obj, where))
        bundle_lines, torn = read_lines(log.path(BUNDLES_FILE))
        if torn:
            log.torn[BUNDLES_FILE] = torn
        for i, line in enumerate(bundle_lines):
            try:
                log.bundles.append(json.loads(line))
            except ValueError:
                raise PatentlabError("damaged line", path=log.path(BUNDLES_FILE), row=i + 1) from None
        return log

    def path(self, name: str) -> Path:
        return self.dir / name

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def head(self) -> TreeHead | None:
        """The latest signed tree head."""
        return self.heads[-1] if self.heads else None

    @property
    def signed_size(self) -> int:
        return self.head.tree_size if self.head else 0

    def ids(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries}

    def finished_bundles(self) -> set[str]:
        return {b["bundle"] for b in self.bundles if isinstance(b, dict) and "bundle" in b}

    def public_key(self) -> str | None:
        path = self.path(PUBLIC_KEY_FILE)
        return path.read_text(encoding="utf-8").strip() if path.is_file() else None

    def check_against_heads(self) -> None:
        """Refuse a log that lost signed entries or whose entries no longer hash to the last head."""
        head = self.head
        if head is None:
            return
        where = f"{self.path(HEADS_FILE)}: tree head {len(self.heads) - 1}"
        if head.tree_size > len(self.entries):
            raise PatentlabError(
                f"{self.path(ENTRIES_FILE)}: truncated: {where} signs {head.tree_size} entries but the "
                f"log holds {len(self.entries)} (entry {len(self.entries)} onwards is missing)"
            )
        if self.tree.root(head.tree_size).hex() != head.root_hash:
            raise PatentlabError(
                f"{where} does not match the log's entries (root hash differs): the log was altered; "
                "run 'patentlab publish verify' to find what changed"
            )

    # -- proofs --------------------------------------------------------------------------------
    def inclusion(self, invention_id: str, head: TreeHead | None = None) -> dict[str, Any]:
        """The inclusion proof of one invention against a signed head (default: the latest)."""
        entry = self.ids().get(invention_id)
        if entry is None:
            raise PatentlabError(f"invention {invention_id} is not in the log", path=self.path(ENTRIES_FILE))
        return self.inclusion_at(entry.index, head)

    def inclusion_at(self, index: int, head: TreeHead | None = None) -> dict[str, Any]:
        """The inclusion proof of entry ``index``: leaf, audit path and the signed head it leads to."""
        head = head or self.head
        entry = self.entries[index]
        if head is None or entry.index >= head.tree_size:
            raise PatentlabError(f"invention {entry.id} is not yet covered by a signed tree head")
        return {
            "id": entry.id,
            "leaf": entry.leaf(),
            "leaf_hash": entry.leaf_hash().hex(),
            "leaf_index": entry.index,
            "tree_size": head.tree_size,
            "audit_path": [h.hex() for h in self.tree.inclusion_proof(entry.index, head.tree_size)],
            "tree_head": head.to_dict(),
        }

    def consistency(self, old_size: int, new_size: int) -> list[str]:
        return [h.hex() for h in self.tree.consistency_proof(old_size, new_size)]

    # -- writing -------------------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def open_for_writing(cls, folder: str | Path) -> Iterator[PublicationLog]:
        """Lock the log, apply the recovery rule, check it against its last head, and yield it."""
        log_dir = Path(folder) / LOG_DIR
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                for name in (ENTRIES_FILE, HEADS_FILE, BUNDLES_FILE):
                    _drop_torn_tail(log_dir / name)
                log = cls.read(folder)
                log.check_against_heads()
                yield log
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def append(
        self,
        records: Sequence[dict[str, Any]],
        *,
        contributor: str | None = None,
        bundle: str | None = None,
    ) -> list[Entry]:
        """Append records (each with ``id`` and ``published_at``) as new entries; fsynced."""
        new = []
        for record in records:
            new.append(
                Entry(
                    index=len(self.entries) + len(new),
                    id=record["id"],
                    published_at=record["published_at"],
                    record_sha256=record_sha256(record),
                    contributor=contributor,
                    bundle=bundle,
                    record=record,
                )
            )
        if new:
            _append(self.path(ENTRIES_FILE), [e.line() for e in new])
            self.entries.extend(new)
            self.tree.extend(e.leaf_hash() for e in new)
        return new

    def sign_head(self, key: Ed25519PrivateKey, timestamp: str) -> TreeHead:
        """Sign the current size and root, append the head (fsynced), and publish the public key."""
        public = keys.public_hex(key)
        known = self.public_key() or (self.head.public_key if self.head else None)
        if known and known != public:
            raise PatentlabError(
                f"this log is signed by key {known[:16]}…, not by the given key {public[:16]}…",
                path=self.path(PUBLIC_KEY_FILE),
            )
        if self.head and timestamp < self.head.timestamp:
            timestamp = self.head.timestamp  # a clock that went back must not reorder heads
        size, root = len(self.entries), self.tree.root().hex()
        head = TreeHead(
            size, root, timestamp, public, keys.sign(key, TreeHead.message(size, root, timestamp))
        )
        if not self.path(PUBLIC_KEY_FILE).exists():
            _append(self.path(PUBLIC_KEY_FILE), [public.encode() + b"\n"])
        _append(self.path(HEADS_FILE), [canonical(head.to_dict()) + b"\n"])
        self.heads.append(head)
        return head

    def record_bundle(self, info: dict[str, Any], key: Ed25519PrivateKey) -> None:
        """Note, signed, that a bundle's acceptance finished (after its entries and head are durable)."""
        info = {**info, "signature": keys.sign(key, BUNDLE_DOMAIN + canonical(info))}
        _append(self.path(BUNDLES_FILE), [canonical(info) + b"\n"])
        self.bundles.append(info)


def bundle_signature_ok(info: dict[str, Any], public: str) -> bool:
    """True when a ``bundles.jsonl`` line carries the publisher's signature of its content."""
    body = {k: v for k, v in info.items() if k != "signature"}
    return isinstance(info.get("signature"), str) and keys.verify(
        public, BUNDLE_DOMAIN + canonical(body), info["signature"]
    )


def _drop_torn_tail(path: Path) -> None:
    """The recovery rule: cut bytes after the last newline (a write that a crash interrupted)."""
    _, torn = read_lines(path)
    if torn:
        with open(path, "r+b") as fh:
            fh.truncate(path.stat().st_size - torn)
            fh.flush()
            os.fsync(fh.fileno())
