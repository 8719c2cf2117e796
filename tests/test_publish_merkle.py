"""The RFC 6962/9162 Merkle tree: known CT hashes, proofs checked against the RFC's definitions,
and every altered byte of a proof, leaf or root rejected."""

from __future__ import annotations

import random

import pytest

from patentlab.publish.merkle import (
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    reference_root,
    verify_consistency,
    verify_inclusion,
)

# The leaves and roots the Certificate Transparency project uses in its own tests.
CT_LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243",
                                        "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]  # fmt: skip
CT_ROOTS = {
    0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def _split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_path(m, leaves):
    """PATH(m, D[n]) written out as the RFC states it."""
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*rfc_path(m, leaves[:k]), reference_root(leaves[k:])]
    return [*rfc_path(m - k, leaves[k:]), reference_root(leaves[:k])]


def rfc_subproof(m, leaves, whole):
    n = len(leaves)
    if m == n:
        return [] if whole else [reference_root(leaves)]
    k = _split(n)
    if m <= k:
        return [*rfc_subproof(m, leaves[:k], whole), reference_root(leaves[k:])]
    return [*rfc_subproof(m - k, leaves[k:], False), reference_root(leaves[:k])]


def test_known_certificate_transparency_roots():
    hashes = [leaf_hash(x) for x in CT_LEAVES]
    tree = MerkleTree(hashes)
    for size, root in CT_ROOTS.items():
        assert tree.root(size).hex() == root
    assert node_hash(b"a" * 32, b"b" * 32) != node_hash(b"b" * 32, b"a" * 32)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33])
def test_proofs_match_the_rfc_definitions_and_verify(n):
    leaves = [leaf_hash(str(i).encode()) for i in range(n)]
    tree = MerkleTree()
    for h in leaves:  # grown one leaf at a time, as the log grows
        tree.append(h)
    for size in range(1, n + 1):
        assert tree.root(size) == reference_root(leaves[:size])
        for m in range(size):
            proof = tree.inclusion_proof(m, size)
            assert proof == rfc_path(m, leaves[:size])
            verify_inclusion(leaves[m], m, size, proof, tree.root(size))
        for old in range(0, size + 1):
            proof = tree.consistency_proof(old, size)
            if 0 < old < size:
                assert proof == rfc_subproof(old, leaves[:size], True)
            verify_consistency(old, size, tree.root(old), tree.root(size), proof)


def test_any_altered_byte_fails():
    rng = random.Random(7)
    leaves = [leaf_hash(str(i).encode()) for i in range(37)]
    tree = MerkleTree(leaves)
    root = tree.root()
    for _ in range(200):
        m = rng.randrange(37)
        proof = tree.inclusion_proof(m)
        i, b = rng.randrange(len(proof)), rng.randrange(32)
        bad = [bytearray(p) for p in proof]
        bad[i][b] ^= 1 << rng.randrange(8)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[m], m, 37, [bytes(p) for p in bad], root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[(m + 1) % 37], m, 37, proof, root)  # another leaf
        with pytest.raises(ProofError):
            verify_inclusion(leaves[m], m, 37, [*proof, root], root)  # a path too long
    for old in range(1, 37):
        proof = tree.consistency_proof(old)
        if not proof:
            continue
        bad = [bytearray(p) for p in proof]
        bad[rng.randrange(len(bad))][rng.randrange(32)] ^= 1
        with pytest.raises(ProofError):
            verify_consistency(old, 37, tree.root(old), root, [bytes(p) for p in bad])
        with pytest.raises(ProofError):  # a log that rewrote its history
            verify_consistency(old, 37, leaf_hash(b"forged"), root, proof)
    with pytest.raises(ProofError):
        verify_consistency(5, 5, tree.root(5), tree.root(6), [])
    with pytest.raises(ProofError):
        tree.inclusion_proof(37)
