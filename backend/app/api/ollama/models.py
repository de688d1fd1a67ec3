"""Ollama's model endpoints: ``/api/tags``, ``/api/show``, ``/api/ps``, ``/api/pull``,
``/api/version``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request

from app.api.deps import EmbeddingsDep, ModelManagerDep, ModelStoreDep, SettingsDep
from app.api.ollama.common import line, ndjson
from app.api.ollama.listing import model_entry, show
from app.api.ollama.translate import model_id, rfc3339
from app.core.errors import AppError, ModelNotFound
from app.schemas.ollama import OllamaPullRequest, OllamaShowRequest, OllamaTags
from app.services.models.store import read_context_length
from app.services.ollama_pull import pull_events
from app.services.rag.embedder import folder_max_tokens
from app.version import __version__

router = APIRouter(tags=["ollama"])


@router.get("/version")
async def version() -> dict[str, str]:
    """Server version (Ollama clients check it)."""
    return {"version": __version__}


@router.get("/tags", response_model=OllamaTags)
async def list_tags(store: ModelStoreDep, embeddings: EmbeddingsDep):
    """Local models and the embedding models of ``/api/embed``, in Ollama's listing format."""
    local = await store.scan_async()

    def entries() -> list:
        models = {m.id: m for m in local}
        for model in embeddings.embedder_models():
            models.setdefault(model.id, model)
        return [model_entry(m) for m in models.values()]

    return OllamaTags(models=await asyncio.to_thread(entries))


@router.get("/ps", response_model=OllamaTags)
async def list_running(manager: ModelManagerDep, settings: SettingsDep):
    """Loaded models with their memory and context, in Ollama's format."""
    entries = []
    for loaded in manager.loaded():
        local = await asyncio.to_thread(manager.store.resolve, loaded.model_id)
        if local.format not in ("hf", "gguf"):
            continue
        engine = loaded.backend
        entries.append(
            await asyncio.to_thread(
                model_entry,
                local,
                # Ollama shows a far-future time for models kept loaded forever; we do the same.
                expires_at=rfc3339(loaded.expires_at or time.time() + 365 * 24 * 3600),
                size_vram=engine.memory_bytes if engine.device.startswith("cuda") else 0,
                context_length=engine.context_length,
            )
        )
    return OllamaTags(models=entries)


@router.post("/show")
async def show_model(
    body: OllamaShowRequest,
    store: ModelStoreDep,
    manager: ModelManagerDep,
    embeddings: EmbeddingsDep,
):
    """Details of a local model: format, family, size, quantization, template, context."""
    mid = model_id(body.model)
    if embeddings.serves_by_embedder(mid):
        for model in await asyncio.to_thread(embeddings.embedder_models):
            if model.id == mid:
                context = await asyncio.to_thread(folder_max_tokens, model.path)
                return await asyncio.to_thread(show, model, context, True, False)
    local = await asyncio.to_thread(store.resolve, mid)
    if local.format not in ("hf", "gguf"):
        raise ModelNotFound(mid)
    loaded = manager.get_loaded(mid)
    context = loaded.backend.context_length if loaded else None
    if context is None:
        context = await asyncio.to_thread(read_context_length, local)
    return await asyncio.to_thread(show, local, context, local.format == "gguf")


@router.post("/pull")
async def pull_model(
    body: OllamaPullRequest, request: Request, store: ModelStoreDep, settings: SettingsDep
):
    """Fetch a model: ``ollama:NAME`` on the configured Ollama server, a Hub repo id through
    the download service, or nothing for a model already here. Progress as Ollama's events."""
    mid = model_id(body.model)
    events = pull_events(mid, store, settings, getattr(request.app.state, "downloads", None))
    if body.stream:
        return ndjson(_stream(events))
    last: dict = {}
    async for event in events:
        last = event
    return last


async def _stream(events: AsyncIterator[dict]) -> AsyncIterator[str]:
    try:
        async for event in events:
            yield line(event)
    except AppError as exc:
        yield line({"error": exc.message})
