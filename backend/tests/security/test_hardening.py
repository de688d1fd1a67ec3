"""Findings of the black-box probe (issue 21), each as the attacker would try it, against a real
server with the default settings (auth off): URL downloads aimed at the server itself, damaged
model files, lone surrogates, cross-site requests and DNS rebinding, key minting, unbounded
metric labels, deep upload metadata and leaked paths."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.hub_server import HubServer
from tests.helpers.server import ServerProcess, tiny_server

TRACE_MARKERS = ("Traceback (most recent call last)", "site-packages")


@pytest.fixture(scope="module")
def bad_models_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """tiny, plus damaged entries: an HTML page saved as .gguf, a GGUF with a forged header,
    and an HF folder whose config.json is not JSON."""
    folder = tmp_path_factory.mktemp("bad-models")
    (folder / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    (folder / "page.gguf").write_text("<!doctype html><html><body>UI</body></html>" * 20)
    (folder / "forged.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1 << 40, 7) + b"x" * 64)
    broken = folder / "broken-hf"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    (broken / "model.safetensors").write_bytes(b"\x00" * 16)
    return folder


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, bad_models_dir: Path) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("hardening-data")
    proc = tiny_server(bad_models_dir, data).start()
    yield proc
    proc.stop()


def _no_trace(response: httpx.Response) -> None:
    assert not any(marker in response.text for marker in TRACE_MARKERS), response.text


# --- 1. downloads: no SSRF, damaged files never break listings ----------------------------------


def test_url_download_to_loopback_is_refused_by_default(app: ServerProcess):
    """The probe downloaded the server's own UI as a model; loopback names and addresses are
    refused before any request is sent (the default has no allow setting)."""
    for url in (
        f"{app.url}/anything.gguf",
        f"http://localhost:{app.port}/x.gguf",
        "http://[::1]:9/x.gguf",
        "http://169.254.169.254/latest/x.gguf",
        "http://10.1.2.3/x.gguf",
    ):
        response = httpx.post(f"{app.url}/api/v1/downloads", json={"url": url}, timeout=30)
        assert response.status_code == 400, (url, response.text)
        error = response.json()["error"]
        assert error["code"] == "blocked_address", error
        assert error["param"] == "url"
    assert httpx.get(f"{app.url}/api/v1/downloads", timeout=10).json()["data"] == []


def test_damaged_model_files_are_skipped_and_reported(app: ServerProcess):
    for path in ("/api/tags", "/api/v1/models", "/v1/models", "/api/v1/models/catalog"):
        response = httpx.get(f"{app.url}{path}", timeout=60)
        assert response.status_code == 200, (path, response.text)
    # The embedding model of /v1/embeddings and /api/embed is listed beside the local models.
    listed = ["tiny", "all-MiniLM-L6-v2"]
    tags = httpx.get(f"{app.url}/api/tags", timeout=30).json()["models"]
    assert [m["name"] for m in tags] == listed
    assert [m["id"] for m in httpx.get(f"{app.url}/v1/models", timeout=30).json()["data"]] == listed
    overview = httpx.get(f"{app.url}/api/v1/models", timeout=30).json()
    assert [m["id"] for m in overview["local"]] == ["tiny"]
    reported = {entry["id"]: entry["problem"] for entry in overview["invalid"]}
    assert set(reported) == {"page.gguf", "forged.gguf", "broken-hf"}
    assert "magic" in reported["page.gguf"]


def test_requests_for_damaged_models_are_4xx_with_relative_paths(
    app: ServerProcess, bad_models_dir: Path
):
    for method, path, body in (
        ("POST", "/api/v1/models/page.gguf/load", None),
        ("POST", "/api/show", {"model": "page.gguf"}),
        ("POST", "/api/generate", {"model": "forged.gguf", "prompt": "x", "stream": False}),
        (
            "POST",
            "/v1/chat/completions",
            {"model": "broken-hf", "messages": [{"role": "user", "content": "x"}]},
        ),
    ):
        response = httpx.request(method, f"{app.url}{path}", json=body, timeout=60)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert str(bad_models_dir) not in response.text, response.text
        assert "models/" in response.text, response.text
        _no_trace(response)
    # A damaged file can be deleted through the API like any model.
    deleted = httpx.delete(f"{app.url}/api/v1/models/page.gguf", timeout=30)
    assert deleted.status_code == 200, deleted.text
    assert not (bad_models_dir / "page.gguf").exists()


# --- 3. lone surrogates are a 400 everywhere ----------------------------------------------------

_SURROGATE_BODIES = [
    (
        "/v1/chat/completions",
        {"model": "tiny", "messages": [{"role": "user", "content": "a\ud800"}]},
    ),
    (
        "/v1/chat/completions",
        {
            "model": "tiny",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "\udfff"}]}],
        },
    ),
    ("/v1/completions", {"model": "tiny", "prompt": "x\ud800"}),
    ("/v1/completions", {"model": "tiny", "prompt": ["\ud800"]}),
    ("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": "\ud800"}),
    ("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": ["ok", "\ud800"]}),
    ("/api/embed", {"model": "all-MiniLM-L6-v2", "input": "\ud800"}),
    ("/api/generate", {"model": "tiny", "prompt": "hi", "system": "\ud800", "stream": False}),
    (
        "/api/chat",
        {"model": "tiny", "messages": [{"role": "user", "content": "\ud800"}], "stream": False},
    ),
    ("/api/v1/models/generate", {"model": "tiny", "prompt": "\ud800"}),
    (
        "/api/v1/models/generate",
        {"model": "tiny", "system": "\ud800", "messages": [{"role": "user", "content": "x"}]},
    ),
]


@pytest.mark.parametrize(("path", "body"), _SURROGATE_BODIES)
def test_lone_surrogates_are_400(app: ServerProcess, path: str, body: dict):
    # json.dumps keeps "\ud800" as an escape, exactly what a client puts on the wire.
    response = httpx.post(
        f"{app.url}{path}",
        content=json.dumps(body),
        timeout=60,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, (path, response.status_code, response.text)
    error = response.json()["error"]  # Ollama's routes answer {"error": "text"}
    message = error if isinstance(error, str) else error["message"]
    assert "surrogate" in message or "unicode" in message, message


# --- 4. CSRF and DNS rebinding with auth off ----------------------------------------------------


def test_foreign_host_header_is_refused(app: ServerProcess):
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "10.0.0.1"):
        response = httpx.get(f"{app.url}/api/v1/models", headers={"host": host}, timeout=10)
        assert response.status_code == 400, (host, response.text)
        assert response.json()["error"]["code"] == "invalid_host"
    for host in (f"127.0.0.1:{app.port}", f"localhost:{app.port}", "localhost", "[::1]:80"):
        response = httpx.get(f"{app.url}/api/v1/models", headers={"host": host}, timeout=30)
        assert response.status_code == 200, (host, response.text)
    # Health stays open to any name: orchestrators probe pods by IP address.
    probe = httpx.get(f"{app.url}/api/v1/health", headers={"host": "10.0.0.7:8000"}, timeout=10)
    assert probe.status_code == 200


def test_cross_site_simple_requests_are_refused(app: ServerProcess):
    evil = {"origin": "http://evil.example"}
    # A form post (text/plain or urlencoded) from another origin: refused before the route.
    response = httpx.post(
        f"{app.url}/api/v1/models/tiny/unload",
        headers=evil,
        timeout=10,
        content=b"x=1",
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "cross_site_request"
    upload = httpx.post(
        f"{app.url}/api/v1/rag/documents",
        headers=evil,
        timeout=30,
        data={"collection": "kb"},
        files={"files": ("a.txt", b"hello", "text/plain")},
    )
    assert upload.status_code == 403, upload.text
    # A fetch without Origin but flagged cross-site by the browser: refused too.
    sneaky = httpx.post(
        f"{app.url}/api/v1/models/tiny/unload", timeout=10, headers={"sec-fetch-site": "cross-site"}
    )
    assert sneaky.status_code == 403
    # The UI's own requests (same origin, or the custom header) and non-browser clients pass.
    same = httpx.post(
        f"{app.url}/api/v1/models/tiny/unload", timeout=10, headers={"origin": app.url}
    )
    assert same.status_code in (204, 404), same.text
    flagged = httpx.post(
        f"{app.url}/api/v1/rag/documents",
        timeout=30,
        headers={**evil, "x-requested-with": "playground"},
        data={"collection": "no-such-kb"},
        files={"files": ("a.txt", b"hello", "text/plain")},
    )
    assert flagged.status_code != 403, flagged.text
    curl_like = httpx.post(f"{app.url}/api/v1/models/tiny/unload", timeout=10)
    assert curl_like.status_code in (204, 404), curl_like.text


def test_official_clients_still_work(app: ServerProcess):
    import ollama
    import openai

    client = openai.OpenAI(base_url=f"{app.url}/v1", api_key="unused")
    assert any(m.id == "tiny" for m in client.models.list().data)
    reply = client.completions.create(model="tiny", prompt="def f(x):", max_tokens=2)
    assert reply.usage.completion_tokens >= 1
    assert any(m.model == "tiny" for m in ollama.Client(host=app.url).list().models)


def test_key_administration_is_refused_with_auth_off(app: ServerProcess):
    """The probe minted an admin key from a web page; with auth off every caller is anonymous,
    so keys are made with the CLI only."""
    response = httpx.post(
        f"{app.url}/api/v1/auth/keys", json={"name": "x", "admin": True}, timeout=10
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "auth_disabled"
    assert httpx.get(f"{app.url}/api/v1/auth/keys", timeout=10).status_code == 403


# --- 5. metric labels only for models that exist ------------------------------------------------


def test_unknown_models_add_no_metric_series(app: ServerProcess):
    for i in range(25):
        response = httpx.post(
            f"{app.url}/v1/chat/completions",
            timeout=30,
            json={"model": f"bogus-{i}", "messages": [{"role": "user", "content": "x"}]},
        )
        assert response.status_code == 404, response.text
    text = httpx.get(f"{app.url}/metrics", timeout=10).text
    assert "bogus-" not in text


# --- 6. the smaller ones --------------------------------------------------------------------------


def test_deeply_nested_upload_metadata_is_400(app: ServerProcess):
    response = httpx.post(
        f"{app.url}/api/v1/rag/documents",
        timeout=30,
        headers={"x-requested-with": "playground"},
        data={"collection": "kb", "metadata": "[" * 10_000 + "]" * 10_000},
        files={"files": ("a.txt", b"hello", "text/plain")},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "metadata"


def test_ollama_show_does_not_leak_absolute_paths(app: ServerProcess, bad_models_dir: Path):
    response = httpx.post(f"{app.url}/api/show", json={"model": "tiny"}, timeout=60)
    assert response.status_code == 200, response.text
    assert str(bad_models_dir) not in response.text
    assert "FROM tiny" in response.json()["modelfile"]


def test_download_url_passwords_are_redacted(tmp_path: Path, tiny_model_dir: Path):
    """A URL download with credentials: the job, its error and the log show ``***``."""
    hub = HubServer().start()
    try:
        page = tmp_path / "page.html"
        page.write_text("<html>not a model</html>" * 50)
        url = hub.add_file("model.gguf", page).replace("http://", "http://alice:s3cret@")
        root = tmp_path / "app"
        proc = ServerProcess(
            {
                "MP_MODELS_DIR": str(root / "models"),
                "MP_DATA_DIR": str(root / "data"),
                "MP_THREADS": "1",
                "MP_DOWNLOAD_ALLOW_PRIVATE_URLS": "true",
                "NO_PROXY": "127.0.0.1,localhost",
            },
            log_path=tmp_path / "server.log",
        ).start()
        try:
            created = httpx.post(f"{proc.url}/api/v1/downloads", json={"url": url}, timeout=30)
            assert created.status_code == 202, created.text
            job_id = created.json()["id"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                job = httpx.get(f"{proc.url}/api/v1/downloads/{job_id}", timeout=10).json()
                if job["status"] in ("completed", "failed"):
                    break
                time.sleep(0.2)
            # An HTML page named .gguf is not a model: the job fails, nothing is listed.
            assert job["status"] == "failed", job
            assert job["error_code"] == "invalid_model_file", job
            assert job["files"][0]["verified_by"] == "none"
            assert (root / "models" / ".quarantine" / "model.gguf").exists()
            assert not (root / "models" / "model.gguf").exists()
            listing = httpx.get(f"{proc.url}/api/v1/downloads", timeout=10).text
            assert "s3cret" not in listing and "alice:***@" in listing
        finally:
            proc.stop()
        assert "s3cret" not in (tmp_path / "server.log").read_text()
    finally:
        hub.stop()


# --- 2. one character limit on every route, before tokenizing ------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": ["ok", "word " * 400_000]}),
        ("/api/embed", {"model": "all-MiniLM-L6-v2", "input": "word " * 400_000}),
        ("/api/generate", {"model": "tiny", "prompt": "word " * 190_000, "stream": False}),
        ("/v1/completions", {"model": "tiny", "prompt": "x" * 2_000_000, "max_tokens": 1}),
    ],
)
def test_long_inputs_are_refused_by_characters(app: ServerProcess, path: str, body: dict):
    response = httpx.post(f"{app.url}{path}", json=body, timeout=120)
    assert response.status_code == 400, (path, response.status_code, response.text[:300])
    error = response.json()["error"]  # Ollama's routes answer {"error": "text"}
    assert "characters" in (error if isinstance(error, str) else error["message"]), error
