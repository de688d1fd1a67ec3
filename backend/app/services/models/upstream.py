"""Models offered by the servers behind the HTTP backends (today: Ollama), for the UI's model
picker and ``/api/v1/backends/...``."""

from __future__ import annotations

import asyncio

from app.backends.registry import backend_class
from app.core.config import EngineSettings
from app.schemas.backends import UpstreamModel, UpstreamModels


async def ollama_models(settings: EngineSettings) -> UpstreamModels:
    """The models of the Ollama server at ``MP_OLLAMA_HOST`` as ``ollama:NAME`` ids.

    503 naming the package when the ``ollama`` client is not installed, 503 when no server
    answers there. The listing is an HTTP call: it runs in a worker thread."""
    backend_class("ollama")
    from app.backends.http.ollama import list_models

    models = await asyncio.to_thread(list_models, settings.ollama_host)
    return UpstreamModels(host=settings.ollama_host, models=[UpstreamModel(**m) for m in models])
