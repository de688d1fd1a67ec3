"""The SQLite database holding state that must survive a restart (jobs, documents, keys).

Each service owns its tables and creates them with :meth:`Database.ensure_schema` at start-up;
there is no ORM. Connections are short-lived and per call, in WAL mode, so worker threads and
the event loop can use the database at once. Queries are small (milliseconds); long work never
holds a connection.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Database:
    """A SQLite file; ``transaction()`` yields a connection that commits or rolls back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._schema_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        # journal_mode cannot change inside a transaction (it fails on an existing file).
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def ensure_schema(self, ddl: str) -> None:
        """Run ``CREATE TABLE IF NOT EXISTS ...`` statements of one service."""
        with self._schema_lock:
            conn = self._connect()
            try:
                conn.executescript(ddl)
            finally:
                conn.close()

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        conn = self._connect()
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()
