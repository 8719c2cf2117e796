"""Password hashing (stdlib scrypt, a salt per reviewer) and per-reviewer API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: scrypt cost: 16 MiB and ~50 ms per check on one core; slows guessing, not reviewers.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_PASSWORD_CHARS = 256


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for ``password``, with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches the stored hash (constant-time comparison)."""
    if not stored or len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(candidate, bytes.fromhex(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def new_token() -> str:
    """A fresh API token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token. A plain SHA-256 suffices: tokens are not guessable."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
