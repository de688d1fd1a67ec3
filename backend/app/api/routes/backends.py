"""Models of the servers behind the HTTP backends: ``/api/v1/backends/...``."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SettingsDep
from app.schemas.backends import UpstreamModels
from app.schemas.common import error_responses
from app.services.models.upstream import ollama_models

router = APIRouter(prefix="/backends", tags=["backends"])


@router.get("/ollama/models", response_model=UpstreamModels, responses=error_responses(503))
async def list_ollama_models(settings: SettingsDep) -> UpstreamModels:
    """Models on the Ollama server (MP_OLLAMA_HOST), named as this server accepts them
    (``ollama:NAME``); 503 when no Ollama server answers there."""
    return await ollama_models(settings)
