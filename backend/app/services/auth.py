"""API keys and browser sessions, kept in the metadata database (``api_keys``, ``auth_meta``).

Keys are created and revoked by an admin (``playground keys ...`` or ``/api/v1/auth/keys``);
only their SHA-256 digest is stored. A presented credential is either a key (checked by digest)
or a session token from :meth:`AuthService.login` (a JWT naming the key that made it, which must
still be active).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

from app.core import security, tables
from app.core.config import SecuritySettings
from app.core.db import Database
from app.core.errors import NotFound, Unauthorized

# Writing last_used_at on every request would turn each read into a write; once a minute is
# plenty to tell stale keys from used ones.
_TOUCH_INTERVAL_S = 60.0


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored key, without its secret."""

    id: str
    name: str
    prefix: str
    admin: bool
    created_at: float
    last_used_at: float | None
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Principal:
    """Who made a request: a key (directly or through a session token)."""

    key_id: str
    name: str
    admin: bool
    via: str  # "key" or "session"


def _record(row) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        admin=bool(row["admin"]),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


class AuthService:
    """Creates, lists, revokes and checks API keys; issues and checks session tokens."""

    def __init__(self, settings: SecuritySettings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._secret = settings.auth_jwt_secret or self._stored_secret()

    @property
    def enabled(self) -> bool:
        return self.settings.auth_enabled

    def _stored_secret(self) -> str:
        # Insert-if-absent, then read: replicas starting together all end up with the first one's.
        with self.db.transaction() as conn:
            conn.insert_ignore(
                tables.auth_meta, {"name": "jwt_secret", "value": secrets.token_urlsafe(48)}
            )
            row = conn.execute("SELECT value FROM auth_meta WHERE name = 'jwt_secret'").fetchone()
            assert row is not None
            return row["value"]

    # --- administration ------------------------------------------------------------------------
    def create_key(self, name: str, *, admin: bool = False) -> tuple[ApiKeyRecord, str]:
        """A new key: its record and the key itself, which is never shown again."""
        key = security.new_api_key()
        key_id = uuid.uuid4().hex[:16]
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, name, prefix, key_hash, admin, created_at) "
                "VALUES (:id, :name, :prefix, :key_hash, :admin, :created_at)",
                {
                    "id": key_id,
                    "name": name,
                    "prefix": security.display_prefix(key),
                    "key_hash": security.hash_api_key(key),
                    "admin": int(admin),
                    "created_at": now,
                },
            )
        return self.get_key(key_id), key

    def list_keys(self) -> list[ApiKeyRecord]:
        rows = self.db.query("SELECT * FROM api_keys ORDER BY created_at")
        return [_record(row) for row in rows]

    def get_key(self, key_id: str) -> ApiKeyRecord:
        rows = self.db.query("SELECT * FROM api_keys WHERE id = :id", {"id": key_id})
        if not rows:
            raise NotFound(f"No API key with id '{key_id}'.", param="key_id")
        return _record(rows[0])

    def revoke_key(self, key_id: str) -> ApiKeyRecord:
        """Revoke a key; its session tokens stop working at once. Idempotent."""
        self.get_key(key_id)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
                {"now": time.time(), "id": key_id},
            )
        return self.get_key(key_id)

    # --- checking credentials ----------------------------------------------------------------
    def authenticate(self, credential: str) -> Principal:
        """The principal behind a key or session token; :class:`Unauthorized` otherwise."""
        if security.looks_like_jwt(credential):
            claims = security.read_session_token(self._secret, credential)
            if claims is None:
                raise Unauthorized("The session has expired or is invalid. Log in again.")
            record = self._active_record(claims.key_id)
            return Principal(record.id, record.name, record.admin, "session")
        digest = security.hash_api_key(credential)
        rows = self.db.query("SELECT * FROM api_keys WHERE key_hash = :digest", {"digest": digest})
        if not rows or not security.digests_equal(rows[0]["key_hash"], digest):
            raise Unauthorized("Incorrect API key provided.")
        record = _record(rows[0])
        if not record.active:
            raise Unauthorized("This API key has been revoked.")
        self._touch(record)
        return Principal(record.id, record.name, record.admin, "key")

    def _active_record(self, key_id: str) -> ApiKeyRecord:
        rows = self.db.query("SELECT * FROM api_keys WHERE id = :id", {"id": key_id})
        if not rows or rows[0]["revoked_at"] is not None:
            raise Unauthorized("The key behind this session has been revoked.")
        return _record(rows[0])

    def _touch(self, record: ApiKeyRecord) -> None:
        now = time.time()
        if record.last_used_at is None or now - record.last_used_at > _TOUCH_INTERVAL_S:
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE api_keys SET last_used_at = :now WHERE id = :id",
                    {"now": now, "id": record.id},
                )

    def login(self, key: str) -> tuple[str, int, Principal]:
        """Exchange an API key for a session token (and its expiry, unix seconds)."""
        if security.looks_like_jwt(key):
            raise Unauthorized("Log in with an API key, not a session token.")
        principal = self.authenticate(key)
        token, expires_at = security.issue_session_token(
            self._secret, principal.key_id, principal.admin, self.settings.auth_session_minutes
        )
        return token, expires_at, principal
