"""Ed25519 keys for signing tree heads and contributor bundles (through ``cryptography``).

A private key is a PKCS#8 PEM file readable only by its owner; a public key travels as 64 hex
digits (its 32 raw bytes), short enough to sit in every signed JSON object.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from patentlab.errors import PatentlabError
from patentlab.storage import atomic_path


def generate_key(path: str | Path) -> Ed25519PrivateKey:
    """Make a new key and write it to ``path`` (mode 0600); refuses to overwrite a key."""
    path = Path(path)
    if path.exists():
        raise PatentlabError("a key already exists here; refusing to overwrite it", path=path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with atomic_path(path) as tmp:
        tmp.write_bytes(pem)
        os.chmod(tmp, 0o600)
    path.with_name(path.name + ".pub").write_text(public_hex(key) + "\n", encoding="utf-8")
    return key


def load_key(path: str | Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key (PEM); a missing or wrong file is a one-line error naming it."""
    path = Path(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise PatentlabError(
            "no such key file (make one with 'patentlab contribute keygen')", path=path
        ) from None
    except (ValueError, TypeError) as exc:
        raise PatentlabError(f"not an unencrypted PEM private key ({exc})", path=path) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PatentlabError(f"not an Ed25519 key ({type(key).__name__})", path=path)
    return key


def load_or_create_key(path: str | Path) -> Ed25519PrivateKey:
    """The key at ``path``, made first when there is none."""
    return load_key(path) if Path(path).exists() else generate_key(path)


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw public key as 64 hex digits."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """The signature of ``message`` as 128 hex digits."""
    return key.sign(message).hex()


def verify(public: str, message: bytes, signature: str) -> bool:
    """True when ``signature`` (hex) is ``public``'s (hex) signature of ``message``."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
