"""API-key and session-token primitives: make, hash and check keys; sign and read JWTs.

API keys are 256-bit random strings (``mp-`` + 43 URL-safe characters). Only their SHA-256 digest
is stored: for keys of that entropy a slow password hash adds nothing (there is nothing to guess),
and a fast digest lets every request be checked with one indexed lookup. Digests are compared in
constant time. Browser sessions are short-lived HS256 JWTs whose subject is the key id, so
revoking a key also ends the sessions made with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt

KEY_PREFIX = "mp-"
_JWT_ALGORITHM = "HS256"
_JWT_AUDIENCE = "mistral-playground"


def new_api_key() -> str:
    """A fresh API key, shown to its owner once and never stored."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The digest stored in place of the key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def display_prefix(key: str) -> str:
    """The first characters of a key, enough for a person to tell keys apart in a list."""
    return key[: len(KEY_PREFIX) + 6]


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith(KEY_PREFIX)


@dataclass(frozen=True)
class SessionClaims:
    """What a valid session token says: which key made it, and until when it is good."""

    key_id: str
    admin: bool
    expires_at: int


def issue_session_token(secret: str, key_id: str, admin: bool, minutes: int) -> tuple[str, int]:
    """A signed session token for ``key_id`` and its expiry (unix seconds)."""
    now = int(time.time())
    expires_at = now + minutes * 60
    payload = {
        "sub": key_id,
        "adm": admin,
        "iat": now,
        "exp": expires_at,
        "aud": _JWT_AUDIENCE,
    }
    return jwt.encode(payload, secret, algorithm=_JWT_ALGORITHM), expires_at


def read_session_token(secret: str, token: str) -> SessionClaims | None:
    """The claims of a valid, unexpired token signed with ``secret``; None otherwise."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[_JWT_ALGORITHM],  # fixed list: never accept 'none' or another algorithm
            audience=_JWT_AUDIENCE,
            options={"require": ["sub", "exp", "iat", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    return SessionClaims(str(payload["sub"]), bool(payload.get("adm")), int(payload["exp"]))
