"""Refused quantizations: a 4xx in the native error envelope, no job and nothing written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from app.services.generation import ParamsInput
from tests.helpers.server import ServerProcess
from tests.inprocess.conftest import in_process_app, make_fake_models
from tests.quantize.conftest import quantize_models_dir


def _snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.fixture(scope="module")
def bad_files(quantize_root: Path) -> Path:
    models = quantize_root / "models"
    (models / "notes.txt").write_text("not a model")
    (models / "broken.gguf").write_bytes(b"NOPE" + bytes(64))
    return models


BAD = [
    ("tiny-f16.gguf", {"types": ["q9_9"]}, 400, "unsupported_quant_type"),
    ("tiny-f16.gguf", {"types": ["iq2_xs"]}, 400, "unsupported_quant_type"),
    ("tiny-f16.gguf", {"types": []}, 400, None),
    ("tiny-f16.gguf", {}, 400, None),
    ("no-such-model.gguf", {"types": ["q8_0"]}, 404, "model_not_found"),
    ("notes.txt", {"types": ["q8_0"]}, 400, "invalid_model_file"),
    ("broken.gguf", {"types": ["q8_0"]}, 400, "invalid_model_file"),
    # The f16 output of tiny-f16.gguf is named like the source itself.
    ("tiny-f16.gguf", {"types": ["q8_0", "f16"]}, 409, "model_exists"),
    ("ollama:tiny", {"types": ["q8_0"]}, 400, None),
]


@pytest.mark.parametrize(("model", "body", "status", "code"), BAD)
def test_bad_quantize_requests_are_refused(
    quantize_server: ServerProcess, bad_files: Path, model: str, body: dict, status: int, code
):
    before = _snapshot(bad_files)
    url = quantize_server.url
    r = httpx.post(f"{url}/api/v1/models/{model}/quantize", json=body, timeout=30)
    error = _error(r, status)
    if code:
        assert error["code"] == code, error
    if code == "unsupported_quant_type":
        assert "q4_k_m" in error["message"] and "q8_0" in error["message"]
    assert _snapshot(bad_files) == before
    assert httpx.get(f"{url}/api/v1/quantizations", timeout=30).json()["data"] == []


def test_unknown_job_is_404(quantize_server: ServerProcess):
    url = quantize_server.url
    for method, path in (
        ("GET", "/api/v1/quantizations/nope"),
        ("GET", "/api/v1/quantizations/nope/events"),
        ("POST", "/api/v1/quantizations/nope/cancel"),
        ("DELETE", "/api/v1/quantizations/nope"),
    ):
        _error(httpx.request(method, f"{url}{path}", timeout=30), 404)


async def test_disk_full_is_507_before_anything_starts(
    tmp_path: Path, tiny_model_dir: Path, tiny_gguf: Path
):
    models = quantize_models_dir(tmp_path, tiny_model_dir, tiny_gguf)
    before = _snapshot(models)
    async with in_process_app(models, tmp_path / "data", download_free_space_bytes=1000) as app:
        r = await app.http.post("/api/v1/models/tiny-f16.gguf/quantize", json={"types": ["q4_k_m"]})
        error = _error(r, 507)
        assert "disk space" in error["message"]
        assert (await app.http.get("/api/v1/quantizations")).json()["data"] == []
    assert _snapshot(models) == before


async def test_a_model_that_is_generating_is_409(tmp_path: Path):
    make_fake_models(tmp_path / "models", 1)
    async with in_process_app(tmp_path / "models", tmp_path / "data") as app:
        generation = app.app.state.generation
        job = await generation.prepare("fake-000", ParamsInput(max_tokens=50), prompt="slow")
        events = generation.stream(job)
        await anext(events)
        try:
            before = _snapshot(tmp_path / "models")
            r = await app.http.post("/api/v1/models/fake-000/quantize", json={"types": ["q8_0"]})
            error = _error(r, 409)
            assert "generating" in error["message"]
            assert _snapshot(tmp_path / "models") == before
        finally:
            await events.aclose()
        for _ in range(200):
            if not job.model.busy():
                break
            await asyncio.sleep(0.01)
