"""Models of the servers behind the HTTP backends: ``/api/v1/backends/...``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from app.api.deps import SettingsDep
from app.backends.registry import backend_class
from app.schemas.backends import UpstreamModel, UpstreamModels
from app.schemas.common import error_responses

router = APIRouter(prefix="/backends", tags=["backends"])


@router.get("/ollama/models", response_model=UpstreamModels, responses=error_responses(503))
async def list_ollama_models(settings: SettingsDep) -> UpstreamModels:
    """Models on the Ollama server (MP_OLLAMA_HOST), named as this server accepts them
    (``ollama:NAME``); 503 when no Ollama server answers there."""
    backend_class("ollama")  # 503 naming the package when the client is not installed
    from app.backends.ollama_backend import list_models

    models = await asyncio.to_thread(list_models, settings.ollama_host)
    return UpstreamModels(host=settings.ollama_host, models=[UpstreamModel(**m) for m in models])
