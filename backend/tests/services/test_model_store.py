"""Local model scanning: ids, formats, the demo flag, and what is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ModelNotFound
from app.services.model_store import ModelStore, is_demo


def _hf_folder(path: Path, readme: str | None) -> None:
    path.mkdir()
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(b"\0" * 16)
    if readme is not None:
        (path / "README.md").write_text(readme)


def test_scan_ids_formats_and_demo_flag(tmp_path: Path, tiny_model_dir: Path) -> None:
    (tmp_path / "tiny-copy").symlink_to(tiny_model_dir, target_is_directory=True)
    _hf_folder(tmp_path / "real", "# real\n\nA fine-tuned model.\n")
    _hf_folder(tmp_path / "bare", None)
    (tmp_path / "model.gguf").write_bytes(b"GGUF" + b"\0" * 12)
    (tmp_path / ".staging.partial").mkdir()  # a download in progress is not a model yet
    (tmp_path / "notes.txt").write_text("not a model")
    models = {m.id: m for m in ModelStore(tmp_path).scan()}
    assert set(models) == {"tiny-copy", "real", "bare", "model.gguf"}
    assert models["model.gguf"].format == "gguf" and models["real"].format == "hf"
    # The demo flag follows the builder's README, whatever the folder is called.
    assert is_demo(models["tiny-copy"])
    assert not is_demo(models["real"]) and not is_demo(models["bare"])
    assert models["real"].description == "A fine-tuned model."


def test_resolve_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        ModelStore(tmp_path).resolve("nothing-here")
