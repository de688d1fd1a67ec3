"""One real server for the third-party client tests, served over a socket as users run it:

- the bundled SmolLM2 on both engines (its GGUF, :data:`SMOLLM2`, is what the generic client
  tests talk to: realistic text, fast on CPU) and the tiny model on both engines, for the
  tool-calling clients (:data:`TINY_ENGINES`, :data:`SMOLLM2_ENGINES`);
- the default embedding model (MiniLM).

Every client here is used the way its users use it, pointed at this server; replies are kept
to a few tokens so the suite stays short."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.models.bundled import GGUF_ID, HF_ID
from tests.helpers.server import ServerProcess, tiny_server

# litellm fetches its model cost map from the internet at import unless told otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

TINY_ENGINES = [("tiny", "transformers"), ("tiny-f16.gguf", "llamacpp")]
SMOLLM2_ENGINES = [(HF_ID, "transformers"), (GGUF_ID, "llamacpp")]
SMOLLM2 = GGUF_ID
EMBEDDER = "all-MiniLM-L6-v2"
QUESTION = "What is the capital of France?"
ANSWER = "Paris"


@pytest.fixture(scope="session")
def compat_server(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_model_dir: Path,
    tiny_gguf: Path,
    smollm2_dir: Path,
) -> Iterator[ServerProcess]:
    """The server every compat module shares (started once, on first use)."""
    models = tmp_path_factory.mktemp("compat-models")
    (models / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    (models / "tiny-f16.gguf").symlink_to(tiny_gguf)
    (models / HF_ID).symlink_to((smollm2_dir / HF_ID).resolve(), target_is_directory=True)
    (models / GGUF_ID).symlink_to((smollm2_dir / GGUF_ID).resolve())
    data = tmp_path_factory.mktemp("compat-data")
    proc = tiny_server(
        models,
        data,
        MP_DEFAULT_MODEL=SMOLLM2,
        MP_MAX_LOADED_MODELS="4",
        MP_LLAMACPP_N_CTX="2048",
        MP_LLAMACPP_PARALLEL="2",
    ).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def tool_clients_server(compat_server: ServerProcess) -> ServerProcess:
    """The same server, under the name the tool-calling client tests use."""
    return compat_server
