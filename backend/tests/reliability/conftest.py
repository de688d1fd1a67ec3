"""Servers with reliability settings (limits, auth) for the tests in this folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.server import ServerProcess, tiny_env


def start_server(
    tmp_path_factory: pytest.TempPathFactory,
    models_dir: Path,
    name: str,
    port: int | None = None,
    **env: str,
) -> ServerProcess:
    data = tmp_path_factory.mktemp(name)
    return ServerProcess(
        {
            **tiny_env(models_dir, data),
            # Nothing a test makes the server fetch may leave this machine.
            "HF_HUB_OFFLINE": "1",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
            **env,
        },
        port=port,
        log_path=data / "server.log",
    ).start()
