"""Shared fixtures: the tiny test model (built once), the bundled SmolLM2 (placed once), and a
real server process serving tiny."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Fixtures of the backend and Ollama tests (GGUF files, a second server wired to the first).
from tests.helpers.backend_servers import (  # noqa: F401
    backends_server,
    gguf_models_dir,
    tiny_gguf,
    tiny_tied_gguf,
)
from tests.helpers.bundled import smollm2_dir  # noqa: F401
from tests.helpers.postgres import postgres  # noqa: F401
from tests.helpers.server import REPO_ROOT, ServerProcess, tiny_server

# Tests never reach a hub; libraries must not try.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """``models/tiny`` in the repository, built by ``playground make-test-models`` if absent."""
    from app.tools.test_models import make_model

    return make_model("tiny", REPO_ROOT / "models")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A models folder for the test server holding a link to the tiny model."""
    folder = tmp_path_factory.mktemp("models")
    (folder / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    return folder


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[ServerProcess]:
    """The real app in a child process on 127.0.0.1, serving the tiny model (session-wide)."""
    data = tmp_path_factory.mktemp("data")
    proc = tiny_server(models_dir, data).start()
    yield proc
    proc.stop()
