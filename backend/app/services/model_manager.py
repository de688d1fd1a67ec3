"""Owns the lifecycle of loaded models: load on first use (once, even under concurrent requests),
unload on request or at shutdown, and the list of what is loaded.

Loading runs in a worker thread so the event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from app.backends.base import Backend
from app.backends.registry import backend_class, choose_backend
from app.core.config import Settings
from app.core.errors import AppError, GenerationFailed, NotFound
from app.services.model_store import ModelStore

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A model in memory on one backend."""

    model_id: str
    backend_name: str
    backend_reason: str
    backend: Backend
    loaded_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)
    load_seconds: float = 0.0

    def touch(self) -> None:
        self.last_used = time.time()


class ModelManager:
    """Loaded models by id; one lock per id so two requests load a model once."""

    def __init__(self, settings: Settings, store: ModelStore) -> None:
        self.settings = settings
        self.store = store
        self._loaded: dict[str, LoadedModel] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def loaded(self) -> list[LoadedModel]:
        return sorted(self._loaded.values(), key=lambda m: m.loaded_at)

    def get_loaded(self, model_id: str) -> LoadedModel | None:
        return self._loaded.get(model_id)

    def default_model_id(self) -> str | None:
        if self.settings.default_model:
            return self.settings.default_model
        if self._loaded:
            return next(iter(self._loaded))
        local = self.store.scan()
        return local[0].id if local else None

    async def get(self, model_id: str, backend: str | None = None) -> tuple[LoadedModel, float]:
        """The loaded model (loading it if needed) and the seconds this call spent loading."""
        current = self._loaded.get(model_id)
        if current is not None and self._backend_matches(current, backend):
            current.touch()
            return current, 0.0
        lock = self._locks.setdefault(model_id, asyncio.Lock())
        async with lock:
            current = self._loaded.get(model_id)
            if current is not None and self._backend_matches(current, backend):
                current.touch()
                return current, 0.0
            if current is not None:
                await self._unload(current)
            started = time.perf_counter()
            loaded = await self._load(model_id, backend)
            return loaded, time.perf_counter() - started

    @staticmethod
    def _backend_matches(model: LoadedModel, backend: str | None) -> bool:
        return backend in (None, "auto", model.backend_name)

    async def _load(self, model_id: str, backend: str | None) -> LoadedModel:
        local = self.store.resolve(model_id)
        requested = backend or self.settings.default_backend
        name, reason = choose_backend(local.format, requested)
        cls = backend_class(name)
        instance = cls(local.source(), self.settings)
        started = time.perf_counter()
        log.info("loading %s on %s (%s)", model_id, name, reason)
        try:
            await asyncio.to_thread(instance.load)
        except AppError:
            raise
        except Exception as exc:  # engine errors carry no useful type; report them safely
            log.exception("loading %s failed", model_id)
            raise GenerationFailed(f"Loading '{model_id}' on {name} failed: {exc}") from exc
        loaded = LoadedModel(
            model_id, name, reason, instance, load_seconds=time.perf_counter() - started
        )
        self._loaded[model_id] = loaded
        log.info("loaded %s in %.2f s", model_id, loaded.load_seconds)
        return loaded

    async def unload(self, model_id: str) -> None:
        lock = self._locks.setdefault(model_id, asyncio.Lock())
        async with lock:
            current = self._loaded.get(model_id)
            if current is None:
                raise NotFound(f"Model '{model_id}' is not loaded.", param="model_id")
            await self._unload(current)

    async def _unload(self, model: LoadedModel) -> None:
        self._loaded.pop(model.model_id, None)
        await asyncio.to_thread(model.backend.unload)
        log.info("unloaded %s", model.model_id)

    async def shutdown(self) -> None:
        for model in list(self._loaded.values()):
            await self._unload(model)
