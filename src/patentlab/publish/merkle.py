"""A Merkle tree in the style of Certificate Transparency (RFC 6962 / RFC 9162, section 2.1).

Hashes follow the RFC exactly, so any CT-style verifier can check our proofs:

* leaf hash ``SHA-256(0x00 || leaf)``, interior node ``SHA-256(0x01 || left || right)``;
* the tree hash of ``n`` leaves splits at ``k``, the largest power of two below ``n``
  (``MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))``), and the empty tree hashes to ``SHA-256()``;
* inclusion (audit) paths and consistency proofs as the RFC defines them, and its two
  verification algorithms (RFC 9162 2.1.3.2 and 2.1.4.2).

:class:`MerkleTree` keeps every *complete, aligned* subtree hash level by level (they never change
once a log grows past them), so the root of any earlier size and any proof cost O(log² n) node
hashes after the leaves were added once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
_LEAF, _NODE = b"\x00", b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)``."""
    return hashlib.sha256(_LEAF + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class ProofError(ValueError):
    """A proof that does not verify, or a request for a proof that cannot exist."""


class MerkleTree:
    """An append-only list of leaf hashes with the RFC's tree hash and proofs over any prefix."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    def __len__(self) -> int:
        return len(self._levels[0])

    def append(self, leaf_hash_: bytes) -> int:
        """Add one leaf hash; returns its index."""
        self.extend([leaf_hash_])
        return len(self) - 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add leaf hashes and the complete subtrees they finish."""
        self._levels[0].extend(leaf_hashes)
        level = 0
        while len(self._levels[level]) >= 2:
            below = self._levels[level]
            if level + 1 == len(self._levels):
                self._levels.append([])
            above = self._levels[level + 1]
            for i in range(len(above), len(below) // 2):
                above.append(node_hash(below[2 * i], below[2 * i + 1]))
            level += 1

    def leaf(self, index: int) -> bytes:
        return self._levels[0][index]

    def _hash(self, start: int, size: int) -> bytes:
        """MTH of leaves ``[start, start + size)``, a range the RFC's recursion can produce."""
        if size & (size - 1) == 0 and start % size == 0:
            # A complete aligned subtree: stored at level log2(size).
            return self._levels[size.bit_length() - 1][start // size]
        k = _split(size)
        return node_hash(self._hash(start, k), self._hash(start + k, size - k))

    def root(self, size: int | None = None) -> bytes:
        """The tree hash of the first ``size`` leaves (default: all)."""
        size = len(self) if size is None else size
        if not 0 <= size <= len(self):
            raise ProofError(f"tree size {size} is outside 0..{len(self)}")
        return hashlib.sha256().digest() if size == 0 else self._hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of the first ``size`` leaves (RFC PATH)."""
        size = len(self) if size is None else size
        if not 0 <= index < size <= len(self):
            raise ProofError(f"no leaf {index} in a tree of size {size}")
        path: list[bytes] = []
        start, n, m = 0, size, index
        while n > 1:  # walk down from the root; collect siblings, then reverse (leaf first)
            k = _split(n)
            if m < k:
                path.append(self._hash(start + k, n - k))
                n = k
            else:
                path.append(self._hash(start, k))
                start, m, n = start + k, m - k, n - k
        return path[::-1]

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The proof that the tree of ``old_size`` leaves is a prefix of ``new_size`` (RFC PROOF)."""
        new_size = len(self) if new_size is None else new_size
        if not 0 <= old_size <= new_size <= len(self):
            raise ProofError(f"no consistency proof from size {old_size} to {new_size}")
        if old_size in (0, new_size):
            return []
        path: list[bytes] = []
        start, n, m, whole = 0, new_size, old_size, True
        while m != n:  # SUBPROOF(m, D[start:start+n], whole)
            k = _split(n)
            if m <= k:
                path.append(self._hash(start + k, n - k))
                n = k
            else:
                path.append(self._hash(start, k))
                start, m, n, whole = start + k, m - k, n - k, False
        if not whole:
            path.append(self._hash(start, m))
        return path[::-1]


def _shift_until(fn: int, sn: int, stop_on_set: bool) -> tuple[int, int]:
    """Right-shift ``fn`` and ``sn`` together while fn's low bit is not as wanted."""
    while fn and (fn & 1) != stop_on_set:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(leaf_hash_: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2: raise :class:`ProofError` unless ``proof`` puts the leaf under ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf_hash_
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_until(fn, sn, stop_on_set=True)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("the inclusion proof does not lead to the root hash")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2: raise :class:`ProofError` unless the old tree is a prefix of the new one."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"tree size went down from {old_size} to {new_size}")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("two tree heads of the same size have different root hashes")
        return
    if old_size == 0:  # the empty tree is a prefix of every tree; the proof is empty
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    fn, sn = _shift_until(fn, sn, stop_on_set=False)
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_until(fn, sn, stop_on_set=True)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError("the consistency proof does not lead to the old root hash")
    if sr != new_root:
        raise ProofError("the consistency proof does not lead to the new root hash")


def reference_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition: the baseline the tests and benchmark use."""
    n = len(leaf_hashes)
    if n == 0:
        return hashlib.sha256().digest()
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(reference_root(leaf_hashes[:k]), reference_root(leaf_hashes[k:]))
