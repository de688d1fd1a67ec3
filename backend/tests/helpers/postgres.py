"""A real PostgreSQL (Debian's package) in a temp folder on a loopback port, started by the
tests. ``stop``/``start`` keep the folder and port, so fault tests can take it down and bring
it back with the data intact."""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.helpers.server import free_port

USER = "mp"
# Trust authentication accepts any password; URLs carry one so redaction is exercised.
PASSWORD = "s3cret-pw"


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed (scripts/setup.sh --dev installs it)")
    return Path(found[-1]).parent


class PostgresServer:
    """``initdb`` + ``pg_ctl``; as root the commands run as the ``postgres`` user (PostgreSQL
    refuses to run as root), so the folder is given to that user."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        # Not under pytest's basetemp: its folders are private to root, and postgres must
        # reach this one.
        self.folder = Path(tempfile.mkdtemp(prefix="mp-pg-"))
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.folder / "data"),
            "-A",
            "trust",
            "-U",
            USER,
            "-E",
            "UTF8",
            "--no-sync",
        )

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self._as_postgres:
            cmd = ["su", "postgres", "-c", shlex.join(cmd)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.folder / "data"),
            "-o",
            options,
            "-w",
            "-l",
            str(self.folder / "server.log"),
            "start",
        )
        return self

    def stop(self) -> None:
        """Stop now (fast shutdown); nothing to do if it is not running."""
        if not (self.folder / "data" / "postmaster.pid").exists():
            return
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def running_postgres() -> Iterator[PostgresServer]:
    """A started server, stopped and its folder removed afterwards (for fixtures)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()
        server.remove()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL for the session; tests make their own databases in it."""
    yield from running_postgres()
