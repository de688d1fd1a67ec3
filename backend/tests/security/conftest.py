"""A server with auth on (its own data folder) and an admin key made with the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.server import REPO_ROOT, ServerProcess, tiny_server


@dataclass
class AuthServer:
    server: ServerProcess
    data_dir: Path
    admin_key: str
    admin_key_id: str

    @property
    def url(self) -> str:
        return self.server.url


def cli_create_key(data_dir: Path, name: str, admin: bool = False) -> tuple[str, str]:
    """(id, key) from `playground keys create`."""
    args = [sys.executable, "-m", "app.cli", "keys", "create", "--name", name]
    if admin:
        args.append("--admin")
    out = subprocess.run(
        args,
        cwd=REPO_ROOT / "backend",
        env={**os.environ, "MP_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    fields = dict(line.split(": ", 1) for line in out.strip().splitlines())
    return fields["id"], fields["key"]


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[AuthServer]:
    data = tmp_path_factory.mktemp("auth-data")
    key_id, key = cli_create_key(data, "admin", admin=True)
    proc = tiny_server(models_dir, data, MP_AUTH_ENABLED="true").start()
    yield AuthServer(proc, data, key, key_id)
    proc.stop()
