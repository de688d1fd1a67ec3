"""The metadata database (jobs, documents, keys, conversations...): SQLite by default, or
PostgreSQL when ``MP_DATABASE_URL`` is set, through one SQLAlchemy ``Engine``.

The tables are declared in :mod:`app.core.tables` and created or upgraded by Alembic when a
:class:`Database` is opened (:mod:`app.core.migrate`); services only read and write rows.
Statements are SQLAlchemy Core or ``text()`` with named binds, so the same code runs on both.
Connections are held for one call (from a pool); queries take milliseconds and long work never
holds one.

SQLite: WAL journal, foreign keys on, a 30 s busy timeout, and ``BEGIN IMMEDIATE`` for every
write transaction, so concurrent writers queue for the lock up front instead of failing when
a read transaction tries to become a write one. PostgreSQL: a pool with ``pool_pre_ping``, so
connections lost while the server was down are replaced once it is back, without a restart;
while it is down, calls raise :class:`~app.core.errors.DatabaseUnavailable` (503).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, RowMapping
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.sql import Executable

from app.core.errors import DatabaseUnavailable
from app.core.redact import redact_url

log = logging.getLogger(__name__)

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with this app's connection settings (see the module docstring)."""
    if url.startswith("postgresql://"):
        # The psycopg 3 driver; a bare postgresql:// would ask for psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        # Pooled: opening a file and setting its pragmas costs more than most queries. Writers
        # waiting for the lock each hold one, hence the generous overflow.
        engine = create_engine(
            url,
            pool_size=8,
            max_overflow=56,
            pool_timeout=30,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        _sqlite_events(engine)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=15,
        pool_timeout=10,
        connect_args={"connect_timeout": 5},
    )


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        # SQLAlchemy issues BEGIN itself (below); the driver's own implicit BEGIN stays off.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # Outside any transaction here, where journal_mode can change; a no-op once the file
        # is in WAL mode (it persists).
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # A read (``query``) runs in autocommit: one statement needs no transaction of its own.
        if not conn.get_execution_options().get("sqlite_read"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Rows:
    """The result of :meth:`DbConnection.execute`: rows as mappings (``row["col"]``,
    ``dict(row)``) and the number of rows a write touched."""

    def __init__(self, result: CursorResult[Any]) -> None:
        self.rowcount = result.rowcount
        self._rows = list(result.mappings()) if result.returns_rows else []

    def fetchone(self) -> RowMapping | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[RowMapping]:
        return list(self._rows)

    def __iter__(self) -> Iterator[RowMapping]:
        return iter(self._rows)


class DbConnection:
    """A connection inside one transaction; ``execute`` takes a Core statement or SQL text with
    ``:name`` binds."""

    def __init__(self, conn: Connection) -> None:
        self.sa = conn

    @property
    def dialect(self) -> str:
        return self.sa.dialect.name

    def execute(self, statement: str | Executable, params: Params = None) -> Rows:
        stmt = text(statement) if isinstance(statement, str) else statement
        return Rows(self.sa.execute(stmt, params))

    def executemany(self, statement: str | Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.execute(statement, list(rows))

    def upsert(self, table: Table, values: Mapping[str, Any], keys: Sequence[str]) -> None:
        """Insert ``values``, or replace the row with the same ``keys`` (INSERT OR REPLACE)."""
        mod = postgresql if self.dialect == "postgresql" else sqlite
        stmt = mod.insert(table).values(**values)
        changes = {k: stmt.excluded[k] for k in values if k not in keys}
        self.sa.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=changes))

    def insert_ignore(self, table: Table, values: Mapping[str, Any]) -> bool:
        """Insert ``values`` unless a unique key already holds them (INSERT OR IGNORE); True if
        the row was written."""
        mod = postgresql if self.dialect == "postgresql" else sqlite
        stmt = mod.insert(table).values(**values).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        key = next(iter(values))
        return self.sa.execute(stmt.returning(table.c[key])).first() is not None


class DatabaseUnreachable(RuntimeError):
    """The database could not be opened at start-up; the message names the (redacted) URL."""


class Database:
    """The metadata database; ``transaction()`` yields a connection that commits or rolls back.

    ``target`` is a SQLAlchemy URL or, as before, the path of a SQLite file. Opening it runs
    the migrations (``migrate=False`` skips them, for tools that inspect a database as is).
    """

    def __init__(self, target: Path | str, *, migrate: bool = True) -> None:
        if isinstance(target, Path):
            target = sqlite_url(target)
        if target.startswith("sqlite:///") and target != "sqlite:///:memory:":
            Path(target.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = target
        self.engine = make_engine(target)
        try:
            with self.engine.connect():
                pass  # opens the file (or reaches the server) once, so failures surface here
            if migrate:
                from app.core.migrate import upgrade

                upgrade(self.engine)
        except OperationalError as exc:
            self.engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnreachable(
                f"cannot open the database at {redact_url(target)}: {redact_url(reason)}"
            ) from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[DbConnection]:
        with self._guard(), self.engine.begin() as conn:
            yield DbConnection(conn)

    def query(
        self, sql: str | Executable, params: Mapping[str, Any] | None = None
    ) -> list[RowMapping]:
        """The rows of one read (on SQLite in autocommit: a single statement, no lock held)."""
        with self._guard(), self.engine.connect() as conn:
            conn.execution_options(sqlite_read=True)
            stmt = text(sql) if isinstance(sql, str) else sql
            return list(conn.execute(stmt, params).mappings())

    def insert(self, table: Table, values: Mapping[str, Any]) -> None:
        """Insert one row in a transaction of its own."""
        with self.transaction() as conn:
            conn.execute(table.insert().values(**values))

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn a lost or refused database connection into a 503 the API can show."""
        try:
            yield
        except (OperationalError, PoolTimeout, DBAPIError) as exc:
            if not _connection_lost(exc, self.dialect):
                raise
            log.warning(
                "database unavailable (%s): %s", redact_url(self.url), exc.__class__.__name__
            )
            raise DatabaseUnavailable("The database is unavailable; retry shortly.") from exc


def columns(row: Mapping[Any, Any], *names: str) -> dict[str, Any]:
    """The values of ``names`` in ``row``, for a record whose fields are named like the
    columns they come from."""
    return {name: row[name] for name in names}


class Repository:
    """Base of the store classes: the only code that holds SQL, over the one database."""

    def __init__(self, db: Database) -> None:
        self.db = db


def _connection_lost(exc: Exception, dialect: str) -> bool:
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # SQLite's OperationalError also means "no such table" or a locked file past the busy
    # timeout, neither of which a retry fixes; on PostgreSQL it is the connection failing.
    return dialect == "postgresql" and isinstance(exc, OperationalError)
