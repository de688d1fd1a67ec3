""".devcontainer: both configs match the devcontainer.json schema and set up what README says."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.deploy.conftest import DEVCONTAINERS, read_jsonc

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "devcontainer.schema.json").read_text())
EXTENSIONS = {
    "ms-python.python",
    "charliermarsh.ruff",
    "dbaeumer.vscode-eslint",
    "bradlc.vscode-tailwindcss",
}


def validate(config: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(config)


@pytest.mark.parametrize("path", DEVCONTAINERS, ids=lambda p: p.parent.name)
def test_devcontainer_matches_the_schema(path: Path):
    config = read_jsonc(path)
    validate(config)
    features = config["features"]
    assert features["ghcr.io/devcontainers/features/python:1"]["version"] == "3.11"
    assert features["ghcr.io/devcontainers/features/node:1"]["version"] == "20"
    assert {8000, 5173} <= set(config["forwardPorts"])
    assert set(config["customizations"]["vscode"]["extensions"]) == EXTENSIONS
    # Codespaces forwards a port only if the server listens beyond loopback in the container.
    assert config["containerEnv"]["MP_HOST"] == "0.0.0.0"
    assert config["postCreateCommand"].startswith("bash scripts/setup.sh")


def test_cpu_devcontainer_runs_the_readme_setup_only():
    config = read_jsonc(DEVCONTAINERS[0])
    assert config["postCreateCommand"] == "bash scripts/setup.sh"
    assert "gpu" not in config.get("hostRequirements", {})


def test_gpu_devcontainer_requires_a_gpu_and_installs_the_gpu_pins():
    config = read_jsonc(DEVCONTAINERS[1])
    assert config["hostRequirements"]["gpu"] is True
    assert "-r requirements-gpu.txt" in config["postCreateCommand"]
    assert ".venv-vllm" in config["postCreateCommand"]  # MP_VLLM_PYTHON's default venv


@pytest.mark.parametrize(
    "change",
    [
        {"forwardPort": [8000]},  # misspelt key
        {"hostRequirements": {"gpu": "yes"}},
        {"postCreateCommand": ""},
        {"customizations": {"vscode": {"extensions": ["not an id"]}}},
    ],
    ids=["unknown-key", "bad-gpu", "empty-command", "bad-extension-id"],
)
def test_schema_rejects_broken_configs(change: dict):
    config = read_jsonc(DEVCONTAINERS[0]) | change
    with pytest.raises(jsonschema.ValidationError):
        validate(config)


def test_jsonc_reader_keeps_comment_markers_inside_strings(tmp_path: Path):
    path = tmp_path / "devcontainer.json"
    path.write_text('// top\n{"a": "http://x//y", /* block */ "b": "/* kept */"}\n')
    assert read_jsonc(path) == {"a": "http://x//y", "b": "/* kept */"}
