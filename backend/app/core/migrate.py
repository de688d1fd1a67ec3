"""Runs the Alembic migrations of the metadata database, programmatically, at start-up.

- A fresh database is upgraded to the head revision.
- A database made before migrations existed (its tables present, no ``alembic_version``) is
  adopted: revision 0001 is exactly that schema and only fills what such a database lacks
  (tables of features newer than it, the ``retrieval_mode`` column), so on a complete one it
  only records the version; then the later revisions run. Rows are never touched.
- Several processes may start at once (replicas, workers): on PostgreSQL an advisory lock,
  on SQLite the write lock of ``BEGIN IMMEDIATE`` makes them migrate one after the other.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from app.core import tables

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"
# Any number that other applications sharing a PostgreSQL database are unlikely to pick.
_LOCK_KEY = 0x6D70_6462


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, heads
    return heads[0]


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database at ``engine`` to the head revision (see the module docstring)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        present = set(inspect(conn).get_table_names())
        cfg = alembic_config(conn)
        if "alembic_version" not in present and present & set(tables.metadata.tables):
            log.info("adopting a database made before migrations at revision %s", BASELINE)
            command.upgrade(cfg, BASELINE)
        before = current(conn)
        command.upgrade(cfg, "head")
        after = current(conn)
        if before != after:
            log.info("database migrated from %s to %s", before or "empty", after)
