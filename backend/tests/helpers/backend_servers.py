"""Fixtures for the backend and Ollama tests (imported by the root conftest).

* ``tiny_gguf``: ``models/tiny-f16.gguf``, converted from the tiny model with llama.cpp's own
  converter (``playground make-test-models`` does the same);
* ``tiny_tied_gguf``: the same model with its output layer tied to the embeddings (no
  ``output.weight``), the kind of file ctransformers cannot read;
* ``backends_server``: a second real server serving tiny, tiny-f16.gguf and the tied file, with
  the session ``server`` configured as its Ollama host and as remote endpoint ``peer``, vLLM
  pointed at a missing venv, and a llama.cpp scheduler of 4 sequences with a queue of 2
  and 128-token prefill chunks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.server import REPO_ROOT, ServerProcess, free_port

LLAMACPP_PARALLEL = 4
LLAMACPP_QUEUE_MAX = 2
LLAMACPP_N_BATCH = 128  # small, so long prompts are prefilled in several chunks


@pytest.fixture(scope="session")
def tiny_gguf(tiny_model_dir: Path) -> Path:
    from app.tools.gguf_models import make_gguf

    return make_gguf("tiny", tiny_model_dir.parent)[0]


@pytest.fixture(scope="session")
def tiny_tied_gguf(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_gguf: Path
) -> Path:
    """tiny with lm_head dropped and tie_word_embeddings on, converted to GGUF."""
    from safetensors.torch import load_file, save_file

    from app.tools.gguf_models import convert

    folder = tmp_path_factory.mktemp("tiny-tied")
    for item in tiny_model_dir.iterdir():
        if item.name != "model.safetensors":
            shutil.copy(item, folder / item.name)
    tensors = load_file(tiny_model_dir / "model.safetensors")
    tensors.pop("lm_head.weight")
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((folder / "config.json").read_text())
    config["tie_word_embeddings"] = True
    (folder / "config.json").write_text(json.dumps(config))
    out = tmp_path_factory.mktemp("tied-gguf") / "tiny-tied-f16.gguf"
    return convert(folder, out, "f16", tiny_model_dir.parent)


@pytest.fixture(scope="session")
def gguf_models_dir(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_model_dir: Path,
    tiny_gguf: Path,
    tiny_tied_gguf: Path,
) -> Path:
    folder = tmp_path_factory.mktemp("gguf-models")
    (folder / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    (folder / "tiny-f16.gguf").symlink_to(tiny_gguf)
    (folder / "tiny-tied-f16.gguf").symlink_to(tiny_tied_gguf)
    return folder


@pytest.fixture(scope="session")
def backends_server(
    tmp_path_factory: pytest.TempPathFactory, gguf_models_dir: Path, server: ServerProcess
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("backends-data")
    # "pool": the same peer plus a replica that nothing answers (a port no one listens on).
    dead = f"http://127.0.0.1:{free_port()}/v1"
    remote = {
        "peer": {"url": f"{server.url}/v1", "models": ["tiny"]},
        "pool": {"urls": [dead, f"{server.url}/v1"], "models": ["tiny"]},
    }
    proc = ServerProcess(
        {
            "MP_MODELS_DIR": str(gguf_models_dir),
            "MP_DATA_DIR": str(data),
            "MP_DEFAULT_MODEL": "tiny-f16.gguf",
            "MP_THREADS": "1",
            "MP_OLLAMA_HOST": server.url,
            "MP_REMOTE_ENDPOINTS": json.dumps(remote),
            "MP_VLLM_PYTHON": str(data / "no-such-venv" / "bin" / "python"),
            "MP_LLAMACPP_PARALLEL": str(LLAMACPP_PARALLEL),
            "MP_LLAMACPP_QUEUE_MAX": str(LLAMACPP_QUEUE_MAX),
            "MP_LLAMACPP_N_CTX": "1024",
            "MP_LLAMACPP_N_BATCH": str(LLAMACPP_N_BATCH),
        },
        log_path=data / "server.log",
    ).start()
    yield proc
    proc.stop()


def vllm_python() -> Path | None:
    """The vLLM venv's interpreter when vllm is installed there (optional test group)."""
    candidate = REPO_ROOT / ".venv-vllm" / "bin" / "python"
    if not candidate.is_file():
        return None
    code = "import importlib.util,sys; sys.exit(importlib.util.find_spec('vllm') is None)"
    ok = subprocess.run([str(candidate), "-c", code], timeout=60).returncode == 0
    return candidate if ok else None
