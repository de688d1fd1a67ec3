"""Session fixture: a models folder with the bundled SmolLM2-135M-Instruct (GGUF and HF folder).

Reuses ``models/`` of the repository when setup already placed a valid copy there; otherwise
runs the same steps as setup (``playground bundled-model``) into a temp folder, once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.models.bundled import GGUF_ID, HF_ID
from tests.helpers.server import REPO_ROOT


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``smollm2-135m-instruct`` and ``smollm2-135m-instruct-q4_1.gguf``
    (links to the placed copies), and nothing else."""
    from app.tools.bundled_model import find_wheel_file, hf_folder_is_valid, place_bundled_model

    source = find_wheel_file()
    repo_models = REPO_ROOT / "models"
    placed = repo_models / GGUF_ID
    if not (
        hf_folder_is_valid(repo_models / HF_ID, source.sha256)
        and placed.is_file()
        and placed.stat().st_size == source.size
    ):
        repo_models = tmp_path_factory.mktemp("bundled-build")
        place_bundled_model(repo_models, threads=1)
    folder = tmp_path_factory.mktemp("smollm2-models")
    (folder / HF_ID).symlink_to(repo_models / HF_ID, target_is_directory=True)
    (folder / GGUF_ID).symlink_to(repo_models / GGUF_ID)
    return folder
