"""The metadata database on both engines: every test taking ``db`` runs once on a SQLite file
and once on a fresh database in a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.db import Database
from tests.helpers.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(tmp_path / "playground.sqlite3")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        database = Database(server.create_database("stores"))
    assert database.dialect == request.param
    yield database
    database.dispose()
