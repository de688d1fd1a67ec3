"""The devcontainer's post-create command sets up a working environment in a fresh clone.

Slow (minutes: a new venv, npm ci and the UI build), but CI runs it: pip's and npm's caches
from the checkout's own setup make the installs local. The clone gets a models folder that
already holds the tiny model, so setup skips the ~2-minute model build (its model step is
covered by the rest of the suite, which builds the model with the same command).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DEVCONTAINERS, REPO_ROOT, clean_env, read_jsonc


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_post_create_command_sets_up_a_fresh_clone(tmp_path: Path, tiny_model_dir: Path):
    command = read_jsonc(DEVCONTAINERS[0])["postCreateCommand"]
    # A copy, not a link: setup.sh looks for model folders and files, not symlinks.
    models_dir = tmp_path / "models"
    shutil.copytree(tiny_model_dir, models_dir / "tiny")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True, timeout=120)
    env = clean_env(MP_MODELS_DIR=str(models_dir), MP_THREADS="1")
    try:
        first = subprocess.run(
            ["bash", "-c", command],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=1700,
        )
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        assert "ready" in first.stdout

        venv = clone / ".venv" / "bin"
        help_text = subprocess.run(
            [str(venv / "playground"), "--help"],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert help_text.returncode == 0, help_text.stderr
        assert "serve" in help_text.stdout and "make-test-models" in help_text.stdout
        # The backend is installed from the clone, not from the checkout running the tests.
        where = subprocess.run(
            [str(venv / "python"), "-c", "import app; print(app.__file__)"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert Path(where.stdout.strip()).is_relative_to(clone)
        if (clone / "frontend" / "package.json").exists():
            assert (clone / "frontend" / "dist" / "index.html").is_file(), "UI not built"

        # Idempotent: a second run finds everything in place.
        second = subprocess.run(
            ["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=600
        )
        assert second.returncode == 0, second.stderr[-3000:]
        assert "Python dependencies up to date" in second.stdout
    finally:
        # A venv is ~2 GB: do not leave it in pytest's kept temp folders.
        shutil.rmtree(clone, ignore_errors=True)
