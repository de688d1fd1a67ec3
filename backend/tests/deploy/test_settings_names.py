"""Every MP_* variable the deployment files set is a real setting, and its value parses."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from app.core.config import Settings
from tests.deploy.conftest import COMPOSE_FILE, DEVCONTAINERS, DOCKERFILES, K8S_DIR, REPO_ROOT

DEPLOY_FILES = [*DOCKERFILES, COMPOSE_FILE, *DEVCONTAINERS, *sorted(K8S_DIR.glob("*.yaml"))]
NAME = re.compile(r"\bMP_[A-Z0-9_]+\b")


@pytest.mark.parametrize("path", DEPLOY_FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_variables_are_settings(path: Path):
    names = set(NAME.findall(path.read_text()))
    unknown = {n for n in names if n.removeprefix("MP_").lower() not in Settings.model_fields}
    assert not unknown, f"{path.name} sets variables no setting reads: {sorted(unknown)}"


def test_name_check_catches_a_misspelt_variable():
    assert "rag_chroma_uri" not in Settings.model_fields  # what a typo would produce


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("MP_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


def test_compose_app_environment_parses(compose_config, monkeypatch):
    env = compose_config("chroma", env={"MP_RAG_CHROMA_URL": "http://chroma:8000"})
    settings = settings_from(env["services"]["app"]["environment"], monkeypatch)
    assert settings.host == "0.0.0.0" and str(settings.models_dir) == "/models"
    assert settings.ollama_host == "http://ollama:11434"
    assert settings.rag_chroma_url == "http://chroma:8000"


def k8s_env(path: Path, name: str) -> dict[str, str]:
    """A workload's container environment, with Secret references resolved from the manifests."""
    docs = [
        d for p in sorted(K8S_DIR.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d
    ]
    secrets = {d["metadata"]["name"]: d["stringData"] for d in docs if d["kind"] == "Secret"}
    [doc] = [
        d
        for d in yaml.safe_load_all(path.read_text())
        if d and d["kind"] == "Deployment" and d["metadata"]["name"] == name
    ]
    env = {}
    for entry in doc["spec"]["template"]["spec"]["containers"][0]["env"]:
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        env[entry["name"]] = secrets[ref["name"]][ref["key"]] if ref else entry["value"]
    return env


def test_k8s_app_environment_parses(monkeypatch):
    settings = settings_from(k8s_env(K8S_DIR / "app.yaml", "playground"), monkeypatch)
    assert settings.remote_endpoints["vllm"].url == "http://vllm:8000/v1"
    assert settings.rag_chroma_url == "http://chroma:8000"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.database_url is not None and "@postgres:5432/playground" in str(
        settings.database_url
    )


def test_k8s_worker_environment_parses(monkeypatch):
    settings = settings_from(k8s_env(K8S_DIR / "worker.yaml", "playground-worker"), monkeypatch)
    assert settings.rag_chroma_url == "http://chroma:8000"
    assert settings.redis_url == "redis://redis:6379/0"


def test_compose_scale_environment_parses(compose_config, monkeypatch):
    env = compose_config("scale")["services"]["worker"]["environment"]
    settings = settings_from(env, monkeypatch)
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.rag_chroma_url == "http://chroma:8000"
