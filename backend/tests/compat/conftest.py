"""One real server for the third-party client tests: the bundled SmolLM2 GGUF on llama.cpp
(realistic text, fast on CPU) as ``smollm2.gguf`` and the default embedding model (MiniLM),
served over a socket as users run it.

Every client here is used the way its users use it, pointed at this server; replies are kept
to a few tokens so the suite stays short."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.bundled import GGUF_ID
from tests.helpers.server import ServerProcess, tiny_server

# litellm fetches its model cost map from the internet at import unless told otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

SMOLLM2 = "smollm2.gguf"
EMBEDDER = "all-MiniLM-L6-v2"
QUESTION = "What is the capital of France?"
ANSWER = "Paris"


@pytest.fixture(scope="session")
def compat_models(tmp_path_factory: pytest.TempPathFactory, smollm2_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("compat-models")
    (folder / SMOLLM2).symlink_to(smollm2_dir / GGUF_ID)
    return folder


@pytest.fixture(scope="session")
def compat_server(
    tmp_path_factory: pytest.TempPathFactory, compat_models: Path
) -> Iterator[ServerProcess]:
    """The server every compat module shares (started once, on first use)."""
    data = tmp_path_factory.mktemp("compat-data")
    proc = tiny_server(
        compat_models,
        data,
        MP_DEFAULT_MODEL=SMOLLM2,
        MP_LLAMACPP_N_CTX="2048",
    ).start()
    yield proc
    proc.stop()
