"""backend/Dockerfile and Dockerfile.gpu: hadolint-clean and wired the way the app needs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DOCKERFILES, REPO_ROOT, tool


def hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("hadolint"), "--no-color", str(path)], capture_output=True, text=True, timeout=60
    )


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path):
    result = hadolint(dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /app && pip install fastapi\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag
    assert "DL3013" in result.stdout  # unpinned pip install


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_serves_ui_and_api_as_non_root_with_volumes(dockerfile: Path):
    steps = instructions(dockerfile)
    text = " ".join(f"{word} {rest}" for word, rest in steps)
    # The UI: a node stage builds frontend/dist, the runtime copies it and points the app at it.
    assert any(w == "FROM" and r.startswith("node:20") for w, r in steps)
    assert "COPY --from=frontend /src/frontend/dist /app/frontend/dist" in text
    assert "MP_FRONTEND_DIST=/app/frontend/dist" in text
    # Containers bind all interfaces; models and data are volumes the settings point at.
    assert "MP_HOST=0.0.0.0" in text
    assert "MP_MODELS_DIR=/models" in text and "MP_DATA_DIR=/data" in text
    assert ("VOLUME", '["/models", "/data"]') in steps
    # The last USER is numeric and not root, and the health check hits the health route.
    users = [r for w, r in steps if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    [health] = [r for w, r in steps if w == "HEALTHCHECK"]
    assert "/api/v1/health" in health
    assert ("CMD", '["playground", "serve"]') in steps
    # The backend is installed from the pinned requirements, never resolving its own deps.
    assert "pip install --no-cache-dir --no-deps /tmp/backend" in text


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_requirements_copied_into_the_image_exist(dockerfile: Path):
    for word, rest in instructions(dockerfile):
        if word == "COPY" and "--from" not in rest:
            source = rest.split()[0]
            assert (REPO_ROOT / source).exists(), f"{dockerfile.name} copies missing {source}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_llama_cpp_builds_with_the_same_lean_flags_as_setup(dockerfile: Path):
    setup = (REPO_ROOT / "scripts" / "setup.sh").read_text()
    [flags] = re.findall(r'CMAKE_ARGS="\$\{CMAKE_ARGS:-([^}"]*)\}"', setup)
    [cmake_env] = [r for w, r in instructions(dockerfile) if w == "ENV" and "CMAKE_ARGS" in r]
    for flag in flags.split():
        assert flag in cmake_env, f"{dockerfile.name} lacks {flag} from scripts/setup.sh"


def test_gpu_image_installs_vllm_and_points_the_backend_at_it():
    steps = instructions(REPO_ROOT / "backend" / "Dockerfile.gpu")
    text = " ".join(f"{word} {rest}" for word, rest in steps)
    assert "pip install --no-cache-dir -r /tmp/requirements-gpu.txt" in text
    assert "MP_VLLM_PYTHON=/opt/venv/bin/python" in text
    assert "MP_DEVICE=cuda" in text
    cpu = " ".join(f"{w} {r}" for w, r in instructions(REPO_ROOT / "backend" / "Dockerfile"))
    assert "python:3.11-slim" in cpu and "-r /tmp/requirements-cpu.txt" in cpu


def test_build_context_leaves_out_local_state_and_secrets():
    ignored = set((REPO_ROOT / ".dockerignore").read_text().split())
    # Local venvs, models, data and .env must not be sent to the builder or baked in.
    assert {".venv", "models", "data", ".env", "**/node_modules", "frontend/dist"} <= ignored
