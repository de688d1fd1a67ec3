"""``playground quantize``: the service's code path in its own process, with printed progress."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.server import REPO_ROOT
from tests.quantize.conftest import dot_entries, quantize_models_dir


def _run(models: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MP_MODELS_DIR": str(models), "MP_DATA_DIR": str(data), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "quantize", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_quantizes_and_refuses_bad_types(tmp_path: Path, tiny_model_dir: Path, tiny_gguf: Path):
    models = quantize_models_dir(tmp_path, tiny_model_dir, tiny_gguf)
    done = _run(models, tmp_path / "data", "tiny-f16.gguf", "--type", "q4_0", "-t", "q8_0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "quantizing q4_0 (1 of 2)" in done.stdout
    assert "ready: tiny-q4_0.gguf" in done.stdout and "bits/weight" in done.stdout
    assert (models / "tiny-q4_0.gguf").is_file() and (models / "tiny-q8_0.gguf").is_file()
    assert dot_entries(models) == []

    bad = _run(models, tmp_path / "data", "tiny-f16.gguf", "--type", "q9")
    assert bad.returncode == 1
    assert "Unknown quantization type 'q9'" in bad.stdout and "q4_k_m" in bad.stdout
    exists = _run(models, tmp_path / "data", "tiny-f16.gguf", "--type", "q4_0")
    assert exists.returncode == 1 and "already in the models folder" in exists.stdout
