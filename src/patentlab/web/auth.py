"""Signed session cookies and CSRF tokens for the web app (stdlib HMAC, no extra dependency).

A session cookie holds the reviewer's name, a random nonce and an expiry, signed with the app's
secret key. The CSRF token of a session is an HMAC of its nonce: a page from this app can show it
to the browser, a page from another origin cannot learn it, and it dies with the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "patentlab_session"
#: Before login, a cookie with only a nonce, so that the login form itself carries a CSRF token.
PRELOGIN_COOKIE = "patentlab_prelogin"
SESSION_SECONDS = 12 * 3600
MAX_COOKIE_CHARS = 1024


@dataclass(frozen=True)
class SessionData:
    reviewer: str
    nonce: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, payload: bytes) -> bytes:
    return hmac.new(
        secret.encode("utf-8"), purpose.encode("ascii") + b"\0" + payload, hashlib.sha256
    ).digest()


def sign(secret: str, purpose: str, data: dict) -> str:
    """``payload.signature`` for ``data`` (JSON), bound to ``purpose`` so tokens never cross over."""
    payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_mac(secret, purpose, payload))}"


def unsign(secret: str, purpose: str, value: str | None) -> dict | None:
    """The data signed by :func:`sign`, or None when the value is missing, altered or malformed."""
    if not value or len(value) > MAX_COOKIE_CHARS or "." not in value:
        return None
    payload_text, signature_text = value.rsplit(".", 1)
    try:
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(signature, _mac(secret, purpose, payload)):
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def new_session(secret: str, reviewer: str, seconds: int = SESSION_SECONDS) -> tuple[str, SessionData]:
    """A signed session cookie value for ``reviewer`` and the session it encodes."""
    session = SessionData(
        reviewer=reviewer, nonce=secrets.token_urlsafe(16), expires=int(time.time()) + seconds
    )
    value = sign(secret, "session", {"r": session.reviewer, "n": session.nonce, "e": session.expires})
    return value, session


def read_session(secret: str, value: str | None) -> SessionData | None:
    """The session in a cookie value, or None when it is missing, forged or expired."""
    data = unsign(secret, "session", value)
    if not data or not isinstance(data.get("r"), str) or not isinstance(data.get("n"), str):
        return None
    expires = data.get("e")
    if not isinstance(expires, int) or expires < time.time():
        return None
    return SessionData(reviewer=data["r"], nonce=data["n"], expires=expires)


def csrf_token(secret: str, nonce: str) -> str:
    """The CSRF token that goes with the session (or pre-login) ``nonce``."""
    return _b64(_mac(secret, "csrf", nonce.encode("utf-8")))


def check_csrf(secret: str, nonce: str | None, supplied: str | None) -> bool:
    """True when ``supplied`` is the CSRF token of ``nonce`` (constant-time)."""
    if not nonce or not supplied or len(supplied) > 128:
        return False
    return hmac.compare_digest(supplied.encode("utf-8"), csrf_token(secret, nonce).encode("utf-8"))
