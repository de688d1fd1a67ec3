"""Fixtures of the quantization tests: a models folder with tiny as GGUF and HF, and helpers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.services.quantize.llama import converter_dir
from tests.helpers.server import REPO_ROOT, ServerProcess, tiny_server


def quantize_models_dir(root: Path, tiny_model_dir: Path, tiny_gguf: Path) -> Path:
    """``root/models`` with tiny (HF), tiny-f16.gguf and llama.cpp's converter (the cache the
    test-model builder filled, so no test fetches it)."""
    folder = root / "models"
    folder.mkdir()
    (folder / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    (folder / "tiny-f16.gguf").symlink_to(tiny_gguf)
    converter = converter_dir(REPO_ROOT / "models")
    (folder / ".cache").mkdir()
    (folder / ".cache" / converter.name).symlink_to(converter, target_is_directory=True)
    return folder


def dot_entries(folder: Path) -> list[str]:
    """Partial files and anything else hidden in the models folder, but the converter cache."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".cache")


def follow(url: str, job_id: str, timeout: float = 120) -> list[dict]:
    """Every progress event of a job over SSE until its end."""
    events: list[dict] = []
    with httpx.stream("GET", f"{url}/api/v1/quantizations/{job_id}/events", timeout=timeout) as r:
        assert r.status_code == 200, r.read()
        name = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                assert name == "progress", line
                events.append(json.loads(line.split(":", 1)[1]))
    return events


def wait_for(check, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def quantize_root(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_gguf: Path):
    root = tmp_path_factory.mktemp("quantize")
    quantize_models_dir(root, tiny_model_dir, tiny_gguf)
    (root / "data").mkdir()
    return root


@pytest.fixture(scope="module")
def quantize_server(quantize_root: Path) -> Iterator[ServerProcess]:
    """The real server on the folder above (one per module)."""
    proc = tiny_server(quantize_root / "models", quantize_root / "data").start()
    yield proc
    proc.stop()
