"""With auth on, every route (OpenAPI and hidden, today's and later ones) refuses a missing or
wrong credential with a 401 envelope; keys, sessions and revocation work end to end."""

from __future__ import annotations

import json
import sqlite3

import httpx
import openai
import pytest

from app.api.ollama.common import is_ollama_path
from tests.helpers.routes import app_routes, openapi_operations
from tests.security.conftest import AuthServer, cli_create_key

PUBLIC = {("GET", "/api/v1/health"), ("GET", "/api/v1/auth/status"), ("POST", "/api/v1/auth/login")}
BAD_CREDENTIALS = [
    None,
    "mp-wrong-key-0000000000000000000000000000000",
    "not-even-a-key",
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",  # unsigned JWT ('none' algorithm)
]


def _headers(credential: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"} if credential else {}


def _assert_401(response: httpx.Response, what: str) -> None:
    assert response.status_code == 401, f"{what}: {response.status_code} {response.text[:200]}"
    body = response.json()
    if " /v1/messages" in what:  # Anthropic's routes answer in Anthropic's envelope
        assert body["type"] == "error", what
        assert body["error"]["type"] == "authentication_error", what
    elif is_ollama_path(what.split(" ")[-1]):  # Ollama's: {"error": "message"}
        assert set(body) == {"error"} and isinstance(body["error"], str), what
    else:
        assert set(body["error"]) >= {"message", "type", "param", "code"}, what
        assert body["error"]["code"] == "invalid_api_key"
    assert response.headers.get("www-authenticate") == "Bearer"


def test_route_list_covers_the_openapi_document(auth_server: AuthServer):
    schema = httpx.get(f"{auth_server.url}/openapi.json", timeout=120).json()
    documented = set(openapi_operations(schema))
    known = {(r.method, r.url("{p}")) for r in app_routes()}
    normalised = {(m, _normalise(p)) for m, p in documented}
    assert normalised <= {(m, _normalise(p)) for m, p in known}
    assert len(documented) >= 30


def _normalise(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "{p}", path)


@pytest.mark.parametrize(
    "credential", BAD_CREDENTIALS, ids=["missing", "wrong", "junk", "jwt-none"]
)
def test_every_route_refuses_a_missing_or_wrong_key(auth_server: AuthServer, credential):
    routes = app_routes()
    assert any(not r.in_schema for r in routes), "hidden routes (e.g. /metrics) are checked too"
    checked = 0
    with httpx.Client(base_url=auth_server.url, timeout=30) as client:
        for route in routes:
            if (route.method, route.path) in PUBLIC:
                continue
            response = client.request(
                route.method, route.url("x"), headers=_headers(credential), json={}
            )
            _assert_401(response, f"{route.method} {route.path}")
            checked += 1
    assert checked >= 35


def test_public_routes_need_no_key(auth_server: AuthServer):
    health = httpx.get(f"{auth_server.url}/api/v1/health", timeout=120)
    assert health.status_code == 200
    status = httpx.get(f"{auth_server.url}/api/v1/auth/status", timeout=120).json()
    assert status == {"enabled": True, "authenticated": False, "admin": False}
    ui = httpx.get(f"{auth_server.url}/", timeout=120)
    assert ui.status_code == 200  # the UI loads, then shows its login page


def test_a_key_opens_native_openai_and_streaming_routes(auth_server: AuthServer):
    headers = _headers(auth_server.admin_key)
    models = httpx.get(f"{auth_server.url}/api/v1/models", headers=headers, timeout=120)
    assert models.status_code == 200
    body = {"prompt": "Hello", "max_tokens": 5, "stream": True, "temperature": 0}
    with httpx.stream(
        "POST",
        f"{auth_server.url}/api/v1/models/generate",
        json=body,
        headers=headers,
        timeout=120,
    ) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    assert "event: done" in text

    client = openai.OpenAI(base_url=f"{auth_server.url}/v1", api_key=auth_server.admin_key)
    chunks = list(client.completions.create(model="tiny", prompt="Hi", max_tokens=3, stream=True))
    assert chunks
    anonymous = openai.OpenAI(base_url=f"{auth_server.url}/v1", api_key="mp-wrong")
    with pytest.raises(openai.AuthenticationError):
        anonymous.models.list()


def test_login_session_and_revocation(auth_server: AuthServer):
    key_id, key = cli_create_key(auth_server.data_dir, "browser")
    login = httpx.post(f"{auth_server.url}/api/v1/auth/login", json={"api_key": key}, timeout=120)
    assert login.status_code == 200, login.text
    token = login.json()["token"]
    assert login.json()["admin"] is False
    for credential in (key, token):
        ok = httpx.get(f"{auth_server.url}/v1/models", headers=_headers(credential), timeout=120)
        assert ok.status_code == 200
    status = httpx.get(
        f"{auth_server.url}/api/v1/auth/status", headers=_headers(token), timeout=120
    ).json()
    assert status["authenticated"] is True

    # EventSource cannot send headers: GET event streams (only they) accept the token as a
    # query parameter; past auth, an unknown job is a 404.
    ok = httpx.get(
        f"{auth_server.url}/api/v1/downloads/nope/events",
        params={"access_token": token},
        timeout=120,
    )
    assert ok.status_code == 404
    # A tampered token (one signature character changed) is refused.
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    _assert_401(
        httpx.get(f"{auth_server.url}/v1/models", headers=_headers(tampered), timeout=120),
        "tampered",
    )
    # Wrong key at login: 401.
    _assert_401(
        httpx.post(
            f"{auth_server.url}/api/v1/auth/login", json={"api_key": "mp-nope"}, timeout=120
        ),
        "login",
    )

    # A plain key may not manage keys.
    listing = httpx.get(f"{auth_server.url}/api/v1/auth/keys", headers=_headers(key), timeout=120)
    assert listing.status_code == 403
    assert listing.json()["error"]["type"] == "permission_error"

    revoke = httpx.delete(
        f"{auth_server.url}/api/v1/auth/keys/{key_id}",
        headers=_headers(auth_server.admin_key),
        timeout=120,
    )
    assert revoke.status_code == 200 and revoke.json()["revoked_at"] is not None
    for credential in (key, token):
        _assert_401(
            httpx.get(f"{auth_server.url}/v1/models", headers=_headers(credential), timeout=120),
            "revoked",
        )


def test_admin_creates_keys_over_http(auth_server: AuthServer):
    headers = _headers(auth_server.admin_key)
    created = httpx.post(
        f"{auth_server.url}/api/v1/auth/keys", json={"name": "script"}, headers=headers, timeout=120
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("mp-")
    listing = httpx.get(f"{auth_server.url}/api/v1/auth/keys", headers=headers, timeout=120).json()
    assert any(item["id"] == created.json()["id"] for item in listing)
    assert key not in json.dumps(listing)  # the secret is shown once, never listed
    assert (
        httpx.get(f"{auth_server.url}/v1/models", headers=_headers(key), timeout=120).status_code
        == 200
    )


def test_keys_are_not_stored_in_clear(auth_server: AuthServer):
    import hashlib

    db_files = sorted(auth_server.data_dir.glob("playground.sqlite3*"))
    assert db_files
    raw = b"".join(path.read_bytes() for path in db_files)
    assert auth_server.admin_key.encode() not in raw
    digest = hashlib.sha256(auth_server.admin_key.encode()).hexdigest()
    conn = sqlite3.connect(db_files[0])
    try:
        rows = conn.execute("SELECT key_hash, prefix FROM api_keys").fetchall()
    finally:
        conn.close()
    assert (digest, auth_server.admin_key[:9]) in rows
