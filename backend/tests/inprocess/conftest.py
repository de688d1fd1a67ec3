"""An in-process app (httpx.ASGITransport, lifespan run here) over a models folder of fake HF
folders served by the fake backend: fast handler tests of error paths."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.helpers import fake_backend


def make_fake_models(folder: Path, count: int, files_per_model: int = 1) -> None:
    """``count`` HF-looking folders (config.json beside weights) that the fake backend serves."""
    for i in range(count):
        model = folder / f"fake-{i:03d}"
        model.mkdir(parents=True)
        (model / "config.json").write_text("{}")
        (model / "README.md").write_text("# fake\n\nA fake model for handler tests.\n")
        for j in range(files_per_model):
            # A minimal valid safetensors file (8-byte header length, empty JSON header): the
            # model folder scan skips files whose header is not one.
            (model / f"model-{j:05d}.safetensors").write_bytes(struct.pack("<Q", 2) + b"{}")


@asynccontextmanager
async def in_process_app(models: Path, data: Path, **settings: Any) -> AsyncIterator[AppClient]:
    """The app with its lifespan run here and a client on it; the fake backend is the default
    backend (``settings`` override the rest)."""
    fake_backend.register()
    options: dict[str, Any] = {"default_backend": "fake", "keep_alive_seconds": -1, **settings}
    app = create_app(Settings(models_dir=models, data_dir=data, **options))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            # A loopback host name: the server refuses unknown Host headers (DNS rebinding).
            base_url = "http://127.0.0.1"
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
                yield AppClient(app, client)
    finally:
        fake_backend.unregister()


@dataclass
class AppClient:
    """The in-process app (for its services on ``app.state``) and an HTTP client on it."""

    app: FastAPI
    http: httpx.AsyncClient


@pytest.fixture
async def app_client(tmp_path: Path) -> AsyncIterator[AppClient]:
    """Three fake models (fake-000..002) on the in-process app."""
    make_fake_models(tmp_path / "models", 3)
    async with in_process_app(tmp_path / "models", tmp_path / "data") as client:
        yield client
