"""The server as its own Ollama host: ``ollama:tiny`` loads through our Ollama routes, which load
the local ``tiny``. With one capacity lock held across every load this deadlocked (the remote
load waited on the local load it caused) and requests hung until shutdown; loads of different
models now run side by side."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.helpers.server import free_port
from tests.reliability.conftest import start_server


@pytest.fixture
def self_ollama(tmp_path_factory: pytest.TempPathFactory, models_dir: Path):
    port = free_port()
    proc = start_server(
        tmp_path_factory,
        models_dir,
        "self-ollama",
        port=port,
        MP_OLLAMA_HOST=f"http://127.0.0.1:{port}",
        MP_DEFAULT_MAX_NEW_TOKENS="4",
        MP_MODEL_LOAD_TIMEOUT_S="120",
    )
    yield proc
    proc.stop()


def test_ollama_model_served_by_this_server_does_not_deadlock(self_ollama) -> None:
    body = {
        "model": "ollama:tiny",
        "messages": [{"role": "user", "content": "def"}],
        "stream": False,
        "options": {"num_predict": 4},
    }
    # Before the fix this hung until the client gave up; now it answers in seconds.
    response = httpx.post(f"{self_ollama.url}/api/chat", json=body, timeout=150)
    assert response.status_code == 200, response.text
    assert response.json()["done"] is True
    loaded = {
        m["id"] for m in httpx.get(f"{self_ollama.url}/api/v1/models/loaded", timeout=30).json()
    }
    assert {"ollama:tiny", "tiny"} <= loaded
