"""Local model scanning: ids, formats, the demo flag, and what is skipped."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from app.core.errors import InvalidRequest, ModelNotFound
from app.services.models.store import ModelStore, is_demo


def _hf_folder(path: Path, readme: str | None) -> None:
    path.mkdir()
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(struct.pack("<Q", 2) + b"{}")  # empty header
    if readme is not None:
        (path / "README.md").write_text(readme)


def test_scan_ids_formats_and_demo_flag(tmp_path: Path, tiny_model_dir: Path) -> None:
    (tmp_path / "tiny-copy").symlink_to(tiny_model_dir, target_is_directory=True)
    _hf_folder(tmp_path / "real", "# real\n\nA fine-tuned model.\n")
    _hf_folder(tmp_path / "bare", None)
    (tmp_path / "model.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0))
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


def test_damaged_entries_are_skipped_reported_and_refused(tmp_path: Path) -> None:
    (tmp_path / "html.gguf").write_text("<html>the UI's catch-all page</html>")
    (tmp_path / "v9.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 9, 0, 0))
    bad_config = tmp_path / "bad-config"
    _hf_folder(bad_config, None)
    (bad_config / "config.json").write_text("[1, 2")
    bad_weights = tmp_path / "bad-weights"
    _hf_folder(bad_weights, None)
    (bad_weights / "model.safetensors").write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    _hf_folder(tmp_path / "good", None)
    store = ModelStore(tmp_path)
    assert [m.id for m in store.scan()] == ["good"]
    assert set(store.invalid) == {"html.gguf", "v9.gguf", "bad-config", "bad-weights"}
    assert "version 9" in store.invalid["v9.gguf"]
    with pytest.raises(InvalidRequest) as refused:
        store.resolve("html.gguf")
    assert refused.value.code == "invalid_model_file"
    assert "models/html.gguf" in refused.value.message and str(tmp_path) not in str(
        refused.value.message
    )
