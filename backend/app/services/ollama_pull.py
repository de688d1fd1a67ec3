"""``/api/pull`` as Ollama clients expect it: a stream of ``{status, digest, total, completed}``
events ending with ``{"status": "success"}``.

* ``ollama:NAME`` pulls on the configured Ollama server and relays its own progress;
* a Hugging Face repo id (``org/name``) becomes a job of the download service (so it also shows
  in ``/api/v1/downloads`` and keeps going if the client leaves), whose progress is relayed;
* a model already in the models folder answers success at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from app.core.config import EngineSettings
from app.core.errors import AppError, GenerationFailed, InvalidRequest, ModelNotFound
from app.services.models.store import ModelStore

_POLL_S = 0.5


async def pull_events(
    model: str, store: ModelStore, settings: EngineSettings, downloads: Any | None
) -> AsyncIterator[dict[str, Any]]:
    if model.startswith("ollama:"):
        async for event in _from_ollama(settings.ollama_host, model.removeprefix("ollama:")):
            yield event
        return
    try:
        store.resolve(model)
    except ModelNotFound:
        pass
    else:
        yield {"status": "pulling manifest"}
        yield {"status": "success"}
        return
    if "/" not in model:
        raise ModelNotFound(model)
    if downloads is None:
        raise InvalidRequest("This server has no download service.", param="model")
    async for event in _from_download_service(downloads, model):
        yield event


async def _from_ollama(host: str, name: str) -> AsyncIterator[dict[str, Any]]:
    from app.backends.http.ollama import pull_model

    events = pull_model(host, name)
    done = object()
    while True:
        event = await asyncio.to_thread(next, events, done)
        if event is done:
            return
        assert isinstance(event, dict)  # pull_model yields progress dicts
        yield event


async def _from_download_service(downloads: Any, repo_id: str) -> AsyncIterator[dict[str, Any]]:
    from app.schemas.downloads import DownloadRequest

    try:
        request = DownloadRequest(repo_id=repo_id)
    except ValueError as exc:
        raise InvalidRequest(f"'{repo_id}' is not a Hugging Face repo id.", param="model") from exc
    job = await downloads.create(request)
    yield {"status": "pulling manifest", "digest": job.id}
    while True:
        info = downloads.info(downloads.get(job.id))
        if info.status == "completed":
            yield {"status": "verifying sha256 digest", "digest": job.id}
            yield {"status": "success"}
            return
        if info.status in ("failed", "cancelled"):
            error = info.error or info.status
            raise _pull_error(f"Download of '{repo_id}' {info.status}: {error}")
        yield {
            "status": f"pulling {info.current_file or info.name}",
            "digest": job.id,
            "total": info.bytes_total,
            "completed": info.bytes_done,
        }
        await asyncio.sleep(_POLL_S)


def _pull_error(message: str) -> AppError:
    return GenerationFailed(message)
