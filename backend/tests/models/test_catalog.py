"""The catalog: local scan facts, curated list, offline Hub status, memory fit, filters."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.services.models.catalog import load_curated, memory_fit
from app.services.models.inspection import inspect_model, read_safetensors_header
from tests.helpers.server import ServerProcess


def test_inspect_reads_parameters_and_dtype_of_hf_folder(tiny_model_dir: Path):
    header = read_safetensors_header(tiny_model_dir / "model.safetensors")
    expected = sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
    facts = inspect_model(tiny_model_dir, "hf")
    assert facts.parameters == expected > 0
    dtype = next(v["dtype"] for k, v in header.items() if k != "__metadata__")
    assert facts.quantization == {"BF16": "bf16", "F32": "f32", "F16": "f16"}[dtype]


def test_inspect_reads_gguf_metadata(tmp_path: Path):
    from gguf import GGUFWriter, LlamaFileType

    path = tmp_path / "mini.gguf"
    writer = GGUFWriter(str(path), "llama")
    writer.add_file_type(int(LlamaFileType.ALL_F32))
    writer.add_tensor("token_embd.weight", np.zeros((16, 8), dtype=np.float32))
    writer.add_tensor("output.weight", np.ones((16, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    facts = inspect_model(path, "gguf")
    assert facts.parameters == 2 * 16 * 8
    assert facts.quantization == "F32"
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    assert inspect_model(broken, "gguf").parameters is None


def test_curated_list_is_complete():
    entries = load_curated()
    assert len(entries) >= 6
    for e in entries:
        assert e["format"] in ("hf", "gguf") and e["repo"] and e["license"]
        assert e["size_bytes"] > 0 and e["parameters"] > 0
        assert bool(e["files"]) != bool(e["allow_patterns"])
        if e["format"] == "gguf":
            assert e["name"].endswith(".gguf") and len(e["files"]) == 1


def test_memory_fit_estimate():
    fit = memory_fit(1_000_000_000, 2_000_000_000)
    assert fit.fits is True and 1_000_000_000 < fit.required_bytes < 2_000_000_000
    assert memory_fit(4_000_000_000, 2_000_000_000).fits is False
    assert memory_fit(None, 1).fits is None


def test_catalog_api_offline(server: ServerProcess):
    r = httpx.get(f"{server.url}/api/v1/models/catalog", timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["hub"] == "offline" and "HF_HUB_OFFLINE" in body["hub_detail"]
    tiny = next(e for e in body["data"] if e["source"] == "local" and e["id"] == "tiny")
    assert tiny["status"] == "ready" and tiny["format"] == "hf"
    assert tiny["parameters"] > 0 and tiny["quantization"]
    assert tiny["suggested_backend"] == "transformers"
    assert tiny["memory_fit"]["fits"] is True
    curated = [e for e in body["data"] if e["source"] == "curated"]
    assert {e["format"] for e in curated} == {"hf", "gguf"}
    assert all(e["status"] == "available" for e in curated)
    mistral = next(e for e in curated if "Mistral-7B" in e["repo"])
    assert mistral["suggested_backend"] == "llamacpp" and mistral["quantization"] == "Q4_K_M"


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"format": "gguf"}, lambda e: e["format"] == "gguf"),
        ({"fits": "true"}, lambda e: e["memory_fit"]["fits"] is True),
        ({"q": "qwen"}, lambda e: "qwen" in (e["id"] + (e["repo"] or "")).lower()),
    ],
)
def test_catalog_filters(server: ServerProcess, params: dict, check):
    body = httpx.get(f"{server.url}/api/v1/models/catalog", params=params, timeout=30).json()
    assert body["data"] and all(check(e) for e in body["data"])


def test_catalog_bad_filter_is_400(server: ServerProcess):
    r = httpx.get(f"{server.url}/api/v1/models/catalog", params={"format": "exe"}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["param"] == "format"


def test_unreachable_hub_is_offline_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import asyncio

    from huggingface_hub import constants

    from app.core.config import Settings
    from app.core.db import Database
    from app.core.errors import UpstreamUnavailable
    from app.services.downloads import DownloadService
    from app.services.downloads.hub import resolve_repo
    from app.services.models.catalog import CatalogService
    from app.services.models.store import ModelStore
    from tests.helpers.server import free_port

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nobody listens
    settings = Settings(models_dir=tmp_path / "models", data_dir=tmp_path / "data")
    settings.models_dir.mkdir()
    downloads = DownloadService(settings, Database(settings.database_path))
    catalog = CatalogService(settings, ModelStore(settings.models_dir), downloads)
    body = asyncio.run(catalog.catalog(q="qwen"))
    assert body.hub == "offline" and "cannot be reached" in (body.hub_detail or "")
    assert [e for e in body.data if e.source == "curated"]
    with pytest.raises(UpstreamUnavailable) as info:
        resolve_repo("Qwen/Qwen2.5-0.5B-Instruct", None, None, None, 2.0)
    assert info.value.code == "hub_unavailable"
