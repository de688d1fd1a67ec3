"""RAG fixtures: a Chroma server, and two app processes (embedded Chroma and Chroma server)
with small upload limits, each serving the tiny model and MiniLM (loaded once per process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import ServerProcess, free_port, tiny_server

MAX_FILE_BYTES = 300_000
MAX_FILES = 4


@dataclass
class RagApp:
    """A running app and where its state lives."""

    server: ServerProcess
    data_dir: Path
    chroma_url: str | None

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``chroma run`` from the venv on 127.0.0.1; stopped with SIGTERM."""
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = open(path / "chroma.log", "wb")  # noqa: SIM115 (open for the server's whole life)
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(path / "db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, f"chroma exited; see {path / 'chroma.log'}"
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "chroma server did not start"
        time.sleep(0.2)
    yield url
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def _start(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, name: str, chroma_url: str | None
) -> RagApp:
    data = tmp_path_factory.mktemp(name)
    extra = {"MP_RAG_CHROMA_URL": chroma_url} if chroma_url else {}
    server = tiny_server(
        models_dir,
        data,
        MP_RAG_MAX_FILE_BYTES=str(MAX_FILE_BYTES),
        MP_RAG_MAX_FILES_PER_UPLOAD=str(MAX_FILES),
        **extra,
    ).start()
    return RagApp(server, data, chroma_url)


@pytest.fixture(scope="session")
def rag_embedded(tmp_path_factory, models_dir) -> Iterator[RagApp]:
    """The app with its embedded Chroma store."""
    app = _start(tmp_path_factory, models_dir, "rag-embedded", None)
    yield app
    app.server.stop()


@pytest.fixture(scope="session")
def rag_remote(tmp_path_factory, models_dir, chroma_server) -> Iterator[RagApp]:
    """The app using the Chroma server."""
    app = _start(tmp_path_factory, models_dir, "rag-remote", chroma_server)
    yield app
    app.server.stop()


@pytest.fixture(params=["embedded", "chroma_server"])
def rag_app(request) -> RagApp:
    """Each test using this runs against both stores."""
    name = "rag_embedded" if request.param == "embedded" else "rag_remote"
    return request.getfixturevalue(name)
