"""A server for the tool-calling client tests: the tiny model and the bundled SmolLM2, each on
Transformers and on llama.cpp (GGUF)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.bundled import GGUF_ID, HF_ID
from tests.helpers.server import ServerProcess, tiny_server

TINY = [("tiny", "transformers"), ("tiny-f16.gguf", "llamacpp")]
SMOLLM2 = [(HF_ID, "transformers"), (GGUF_ID, "llamacpp")]


@pytest.fixture(scope="session")
def tool_clients_server(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_model_dir: Path,
    tiny_gguf: Path,
    smollm2_dir: Path,
) -> Iterator[ServerProcess]:
    """``playground serve`` with the four models of :data:`TINY` and :data:`SMOLLM2`."""
    models = tmp_path_factory.mktemp("tool-clients-models")
    (models / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    (models / "tiny-f16.gguf").symlink_to(tiny_gguf)
    (models / HF_ID).symlink_to((smollm2_dir / HF_ID).resolve(), target_is_directory=True)
    (models / GGUF_ID).symlink_to((smollm2_dir / GGUF_ID).resolve())
    data = tmp_path_factory.mktemp("tool-clients-data")
    proc = tiny_server(
        models,
        data,
        MP_MAX_LOADED_MODELS="4",
        MP_LLAMACPP_N_CTX="1024",
        MP_LLAMACPP_PARALLEL="2",
    ).start()
    yield proc
    proc.stop()
