"""``MP_MCP_SERVER_ENABLED``, and the SDK's transport security built from the host settings."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.api.mcp_server.http import transport_security
from app.core.config import Settings
from app.main import create_app


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(models_dir=tmp_path / "models", data_dir=tmp_path / "data", **values)


def test_disabled_means_no_endpoint(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, mcp_server_enabled=False))
    assert "/mcp" not in [getattr(route, "path", None) for route in app.routes]
    # No lifespan: the route table and the UI fallback only.
    client = TestClient(app, base_url="http://127.0.0.1")
    response = client.get("/mcp")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"
    assert client.post("/mcp", json={}).status_code in (404, 405)


def test_enabled_by_default(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path))
    assert "/mcp" in [getattr(route, "path", None) for route in app.routes]


def test_transport_security_follows_the_host_settings(tmp_path: Path) -> None:
    security = transport_security(
        _settings(
            tmp_path,
            host="10.0.0.5",
            allowed_hosts=["playground.lan"],
            cors_origins=["https://ui.example/"],
        )
    )
    assert security.enable_dns_rebinding_protection
    for host in ("localhost", "127.0.0.1:8000", "[::1]:8000", "10.0.0.5:8000", "playground.lan"):
        assert host in security.allowed_hosts or any(
            allowed.endswith(":*") and host.startswith(allowed[:-1])
            for allowed in security.allowed_hosts
        ), host
    assert "evil.example" not in security.allowed_hosts
    assert "http://localhost:*" in security.allowed_origins
    assert "https://playground.lan" in security.allowed_origins
    assert "https://ui.example" in security.allowed_origins
    # '*' allows any host name, for the app's own check and the SDK's alike.
    anyone = transport_security(_settings(tmp_path, allowed_hosts=["*"]))
    assert not anyone.enable_dns_rebinding_protection
