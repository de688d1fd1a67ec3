"""docker-compose.yml: `docker compose config` accepts every profile and resolves what we expect."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from tests.deploy.conftest import COMPOSE_FILE, ComposeError

PROFILES = {
    (): {"app"},
    ("gpu",): {"app", "app-gpu"},
    ("ollama",): {"app", "ollama"},
    ("chroma",): {"app", "chroma"},
    ("gpu", "ollama", "chroma"): {"app", "app-gpu", "ollama", "chroma"},
    ("scale",): {"app", "app-scale", "worker", "proxy", "redis", "postgres", "chroma"},
}
SCALE_SERVICES = ("app-scale", "worker")


@pytest.mark.parametrize("profiles", list(PROFILES), ids=lambda p: "+".join(p) or "default")
def test_every_profile_passes_compose_config(compose_config: Callable[..., dict], profiles):
    model = compose_config(*profiles)
    assert set(model["services"]) == PROFILES[profiles]
    for name, service in model["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for mount in service.get("volumes", []):
            # Named volumes only: no host paths, so the same file works on any machine.
            assert mount["type"] == "volume", f"{name} mounts a host path: {mount}"
            assert mount["source"] in model["volumes"]


def test_app_serves_ui_and_api_on_localhost_with_volumes(compose_config):
    app = compose_config()["services"]["app"]
    assert app["build"]["dockerfile"] == "backend/Dockerfile"
    [port] = app["ports"]
    # Published on the host's loopback only, unless PLAYGROUND_BIND says otherwise.
    assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", "8000", 8000)
    assert app["environment"]["MP_HOST"] == "0.0.0.0"
    assert {m["target"] for m in app["volumes"]} == {"/models", "/data"}
    assert "/api/v1/health" in " ".join(app["healthcheck"]["test"])


def test_env_file_is_the_shared_dotenv_and_optional():
    # `config` inlines env files, so read the source: the same .env as the non-Docker setup.
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    for name in ("app", "app-gpu"):
        assert raw["services"][name]["env_file"] == [{"path": ".env", "required": False}]


def test_gpu_profile_reserves_nvidia_devices(compose_config):
    gpu = compose_config("gpu")["services"]["app-gpu"]
    assert gpu["build"]["dockerfile"] == "backend/Dockerfile.gpu"
    [device] = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert gpu["environment"]["MP_DEVICE"] == "cuda"
    assert gpu["ports"][0]["published"] != "8000", "must not collide with the CPU app's port"


def test_ollama_profile_points_the_app_at_the_ollama_service(compose_config):
    model = compose_config("ollama")
    app = model["services"]["app"]
    assert app["environment"]["MP_OLLAMA_HOST"] == "http://ollama:11434"
    assert app["depends_on"]["ollama"]["condition"] == "service_healthy"
    assert model["services"]["ollama"]["image"].startswith("ollama/ollama:")


def test_chroma_profile_points_the_app_at_the_chroma_server(compose_config):
    model = compose_config("chroma", env={"MP_RAG_CHROMA_URL": "http://chroma:8000"})
    assert model["services"]["app"]["environment"]["MP_RAG_CHROMA_URL"] == "http://chroma:8000"
    assert model["services"]["chroma"]["image"].startswith("chromadb/chroma:")
    # Without the variable the app keeps its embedded store (an empty URL means "embedded").
    plain = compose_config("chroma")["services"]["app"]["environment"]
    assert plain["MP_RAG_CHROMA_URL"] == ""


def test_scale_profile_runs_api_replicas_a_worker_and_shared_services(compose_config):
    services = compose_config("scale")["services"]
    api, worker, proxy = services["app-scale"], services["worker"], services["proxy"]
    assert api["deploy"]["replicas"] == 2
    assert api["command"] == ["playground", "serve", "--no-worker"]
    assert worker["command"] == ["playground", "worker"]
    assert "--check" in worker["healthcheck"]["test"], "the worker has no HTTP health route"
    for name in SCALE_SERVICES:
        env = services[name]["environment"]
        # Every process reaches the same services by their compose names.
        assert env["MP_DATABASE_URL"].startswith("postgresql://playground:")
        assert env["MP_DATABASE_URL"].endswith("@postgres:5432/playground")
        assert env["MP_REDIS_URL"] == "redis://redis:6379/0"
        assert env["MP_RAG_CHROMA_URL"] == "http://chroma:8000"
        assert env["MP_SHARED_DIR"] == "/shared"
        assert {m["source"] for m in services[name]["volumes"]} == {"models", "shared"}
        for dependency in ("redis", "postgres", "chroma"):
            assert services[name]["depends_on"][dependency]["condition"] == "service_healthy"
        assert "ports" not in services[name], "only the proxy is published"
    [port] = proxy["ports"]
    assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", "8080", 80)
    assert proxy["depends_on"]["app-scale"]["condition"] == "service_healthy"
    assert services["redis"]["command"] == ["redis-server", "--appendonly", "yes"]
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "playground"


def test_scale_proxy_balances_over_the_replicas_and_streams_unbuffered(compose_config):
    model = compose_config("scale")
    [mount] = model["services"]["proxy"]["configs"]
    assert mount["target"] == "/etc/nginx/conf.d/default.conf"
    conf = model["configs"][mount["source"]]["content"]
    assert "server app-scale:8000;" in conf
    assert "proxy_pass http://playground;" in conf
    assert "proxy_buffering off;" in conf, "SSE streams (tokens, job progress) must not buffer"
    assert "client_max_body_size" in conf, "nginx's 1 MB default would refuse uploads"


def test_scale_password_comes_from_the_environment(compose_config):
    env = compose_config("scale", env={"POSTGRES_PASSWORD": "s3cret"})["services"]
    assert env["postgres"]["environment"]["POSTGRES_PASSWORD"] == "s3cret"
    assert "playground:s3cret@postgres" in env["app-scale"]["environment"]["MP_DATABASE_URL"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("  healthcheck:\n", "  healthchek:\n"), "healthchek"),
        (("      - models:/models\n", "      - undeclared:/models\n"), "undeclared"),
        (("healthy\n      required: false\n", "healthy\n      required: true\n"), "ollama"),
        (("      required: false\n", "      required: true\n"), r"\.env not found"),
    ],
    ids=["unknown-key", "undeclared-volume", "missing-required-dependency", "required-env-file"],
)
def test_compose_config_rejects_a_broken_file(compose_config, tmp_path, change, error):
    old, new = change
    source = COMPOSE_FILE.read_text()
    assert old in source
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(source.replace(old, new, 1))
    with pytest.raises(ComposeError, match=error):
        # A folder without .env as the project directory, whatever the checkout holds.
        compose_config(file=broken, project_dir=tmp_path)
