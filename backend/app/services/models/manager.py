"""Owns the lifecycle of loaded models: load on first use (once, even under concurrent requests),
unload on request or at shutdown, and the list of what is loaded.

Like Ollama's scheduler it keeps memory in check: before a load, least recently used idle models
are evicted until the newcomer fits ``max_loaded_models`` and the memory budget; a background
task unloads models idle past their keep-alive. A model counts as busy (never evicted) while it
generates, and briefly after a request got it but before its generation started.

Loading runs in a worker thread so the event loop keeps serving other requests meanwhile; loads
of different models run side by side (one lock per model id, and the capacity lock only around
the eviction decision) and each has a timeout (``MP_MODEL_LOAD_TIMEOUT_S``, then 504).

One busy-model policy: a model that is generating is never unloaded on demand. Unload, delete,
a request for the model on another backend, and Ollama's ``keep_alive: 0`` unload answer 409
while it is busy; eviction skips it; keep-alive expiry waits until it is idle.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field

from app.backends.base import Backend
from app.backends.registry import backend_class, plan_backends
from app.core.config import Settings
from app.core.errors import (
    AppError,
    Conflict,
    GenerationFailed,
    InsufficientStorage,
    LoadTimeout,
    NotFound,
    Overloaded,
)
from app.core.hardware import cuda_devices, memory_info
from app.services import metrics
from app.services.models.bundled import BUNDLED_IDS
from app.services.models.store import LocalModel, ModelStore, is_demo

log = logging.getLogger(__name__)

# How long a model handed to a request stays protected from eviction until that request's
# generation starts (the engine's own counters protect it from then on).
_RESERVE_SECONDS = 10.0
_REAP_INTERVAL = 0.5


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
    keep_alive_s: float | None = None  # None: stays until evicted or unloaded
    estimate_bytes: int = 0  # size on disk, used when the engine reports no memory figure
    reserved_total: int = 0
    reserved_until: float = 0.0

    def touch(self) -> None:
        self.last_used = time.time()

    @property
    def expires_at(self) -> float | None:
        """Unix time the idle model will be unloaded (None: never by keep-alive)."""
        if self.keep_alive_s is None:
            return None
        return self.last_used + self.keep_alive_s

    @property
    def memory(self) -> int:
        return self.backend.memory_bytes or self.estimate_bytes

    def reserve(self) -> None:
        """A request got this model: protect it until that request's generation starts."""
        self.reserved_total = max(self.reserved_total, self.backend.stats.requests_total) + 1
        self.reserved_until = time.monotonic() + _RESERVE_SECONDS

    def unreserve(self) -> None:
        """The request that reserved the model was refused before it started generating."""
        self.reserved_total = max(self.reserved_total - 1, self.backend.stats.requests_total)

    def busy(self) -> bool:
        stats = self.backend.stats
        if stats.active_requests > 0:
            return True
        return time.monotonic() < self.reserved_until and stats.requests_total < self.reserved_total


class ModelManager:
    """Loaded models by id; one lock per id so two requests load a model once."""

    def __init__(self, settings: Settings, store: ModelStore) -> None:
        self.settings = settings
        self.store = store
        self._loaded: dict[str, LoadedModel] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._capacity = asyncio.Lock()  # one eviction decision at a time keeps the budget
        self._pending: dict[str, int] = {}  # models loading now -> bytes booked for them
        self._reaper: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the keep-alive task (call from the running event loop)."""
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_idle(), name="model-keep-alive")

    def memory_budget(self) -> int:
        """Bytes loaded models may hold together."""
        if self.settings.model_memory_budget_bytes is not None:
            return self.settings.model_memory_budget_bytes
        gpus = cuda_devices()
        total = sum(int(g["total_bytes"]) for g in gpus) if gpus else memory_info()["total_bytes"]
        return int(total * 0.8)

    def set_keep_alive(self, model: LoadedModel, seconds: float | None) -> None:
        """Per-request keep-alive (seconds; negative: forever); None keeps the current one."""
        if seconds is not None:
            model.keep_alive_s = None if seconds < 0 else seconds
            model.touch()

    def loaded(self) -> list[LoadedModel]:
        return sorted(self._loaded.values(), key=lambda m: m.loaded_at)

    def get_loaded(self, model_id: str) -> LoadedModel | None:
        return self._loaded.get(model_id)

    async def default_model_id_async(self) -> str | None:
        """:meth:`default_model_id` off the event loop (it may scan the models folder)."""
        return await asyncio.to_thread(self.default_model_id)

    def default_model_id(self) -> str | None:
        """MP_DEFAULT_MODEL; else the bundled SmolLM2 (HF folder, then GGUF) when present;
        else the first loaded real model, the first local real model; demo models last."""
        if self.settings.default_model:
            return self.settings.default_model
        local = self.store.scan()
        ids = [m.id for m in local]
        for bundled in BUNDLED_IDS:
            if bundled in ids:
                return bundled
        demo = {m.id for m in local if is_demo(m)}
        loaded = [model_id for model_id in self._loaded if model_id not in demo]
        ranked = loaded + [m for m in ids if m not in demo] + [m for m in ids if m in demo]
        return ranked[0] if ranked else None

    async def get(
        self,
        model_id: str,
        backend: str | None = None,
        allow_fallback: bool = False,
        *,
        reserve: bool = True,
    ) -> tuple[LoadedModel, float]:
        """The loaded model (loading it if needed) and the seconds this call spent loading.
        ``reserve``: a generation follows, so keep the model from eviction until it starts."""
        self.start()
        if (ready := self._reuse(model_id, backend, reserve)) is not None:
            return ready, 0.0
        lock = self._locks.setdefault(model_id, asyncio.Lock())
        async with lock:
            # Checked again under the lock: a load that ran meanwhile may have made it.
            if (ready := self._reuse(model_id, backend, reserve)) is not None:
                return ready, 0.0
            current = self._loaded.get(model_id)
            if current is not None:
                # Another backend was asked for. One that cannot serve this format is refused
                # (400) before the loaded copy is touched; then switch only when idle.
                await asyncio.to_thread(
                    plan_backends, current.backend.source, backend, allow_fallback=allow_fallback
                )
                self._refuse_if_busy(current, f"load it on {backend}")
                await self._unload(current)
            started = time.perf_counter()
            loaded = await self._load(model_id, backend, allow_fallback)
            if reserve:
                loaded.reserve()
            return loaded, time.perf_counter() - started

    def _reuse(self, model_id: str, backend: str | None, reserve: bool) -> LoadedModel | None:
        """The loaded model when it is on the asked backend (touched, and reserved when
        ``reserve``); None when it must be loaded."""
        current = self._loaded.get(model_id)
        if current is None or not self._backend_matches(current, backend):
            return None
        current.touch()
        if reserve:
            current.reserve()
        return current

    def check_idle(self, model_id: str, action: str) -> None:
        """409 when ``model_id`` is loaded and generating (the busy-model policy), for work
        that must not run beside a generation of the model (quantizing it)."""
        current = self._loaded.get(model_id)
        if current is not None:
            self._refuse_if_busy(current, action)

    @staticmethod
    def _refuse_if_busy(model: LoadedModel, action: str) -> None:
        """The one busy-model policy: a model that is generating (or was just handed to a
        request) is never unloaded on demand; the caller gets 409 and retries when it is idle.
        Eviction skips busy models and keep-alive expiry waits until they are idle."""
        if model.busy():
            raise Conflict(
                f"'{model.model_id}' is generating for another request; cannot {action} now. "
                "Try again when it is idle."
            )

    @staticmethod
    def _backend_matches(model: LoadedModel, backend: str | None) -> bool:
        return backend in (None, "auto", model.backend_name)

    async def _load(
        self, model_id: str, backend: str | None, allow_fallback: bool = False
    ) -> LoadedModel:
        local = await asyncio.to_thread(self.store.resolve, model_id)
        requested = (
            backend or self.settings.model_backends.get(model_id) or self.settings.default_backend
        )
        # Planning may import an engine and probe the GPU: a worker thread, not the loop.
        plan = await asyncio.to_thread(
            plan_backends, local.source(), requested, allow_fallback=allow_fallback
        )
        # The capacity lock covers only the decision (evict, then book the memory), never the
        # load itself: loads of different models run side by side, so a slow remote load
        # (Ollama, vLLM) cannot hold up a local one, nor wait on one it causes itself.
        async with self._capacity:
            await self._make_room(model_id, local.size_bytes)
            self._pending[model_id] = local.size_bytes
        try:
            failures: list[str] = []
            for attempt, (name, reason) in enumerate(plan):
                if failures:
                    reason += f" (after load failure: {'; '.join(failures)})"
                try:
                    return await self._load_on(model_id, local, name, reason)
                except AppError as exc:
                    if attempt == len(plan) - 1:
                        raise
                    failures.append(f"{name}: {exc.message}")
                    log.warning(
                        "loading %s on %s failed, trying %s", model_id, name, plan[attempt + 1][0]
                    )
            raise AssertionError("plan_backends never returns an empty plan")
        finally:
            self._pending.pop(model_id, None)

    async def _load_on(self, model_id: str, local, name: str, reason: str) -> LoadedModel:
        cls = backend_class(name)
        instance = cls(local.source(), self.settings)
        started = time.perf_counter()
        log.info("loading %s on %s (%s)", model_id, name, reason)
        timeout = self.settings.model_load_timeout_s
        load = asyncio.ensure_future(asyncio.to_thread(instance.load))
        try:
            # shield: a timeout (or a cancelled request) must not leave a half-loaded engine
            # behind; the thread cannot be stopped, so its result is freed when it ends.
            await asyncio.wait_for(asyncio.shield(load), timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            load.add_done_callback(lambda _: _free_late(instance, model_id))
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise LoadTimeout(
                f"Loading '{model_id}' on {name} did not finish within {timeout:g} s "
                "(MP_MODEL_LOAD_TIMEOUT_S).",
                param="model",
            ) from None
        except AppError:
            raise
        except Exception as exc:  # engine errors carry no useful type; report them safely
            log.exception("loading %s failed", model_id)
            raise GenerationFailed(f"Loading '{model_id}' on {name} failed: {exc}") from exc
        keep_alive = self.settings.keep_alive_seconds
        loaded = LoadedModel(
            model_id,
            name,
            reason,
            instance,
            load_seconds=time.perf_counter() - started,
            keep_alive_s=None if keep_alive < 0 else keep_alive,
            estimate_bytes=local.size_bytes,
        )
        self._loaded[model_id] = loaded
        metrics.model_loaded(name, loaded.load_seconds)
        log.info("loaded %s in %.2f s", model_id, loaded.load_seconds)
        return loaded

    async def unload(self, model_id: str) -> None:
        lock = self._locks.setdefault(model_id, asyncio.Lock())
        async with lock:
            current = self._loaded.get(model_id)
            if current is None:
                raise NotFound(f"Model '{model_id}' is not loaded.", param="model_id")
            self._refuse_if_busy(current, "unload it")
            await self._unload(current)

    async def _unload(self, model: LoadedModel) -> None:
        if self._loaded.get(model.model_id) is not model:
            return  # already unloaded (evicted or expired meanwhile)
        self._loaded.pop(model.model_id, None)
        await asyncio.to_thread(model.backend.unload)
        metrics.model_unloaded(model.backend_name)
        log.info("unloaded %s", model.model_id)

    async def delete(self, model_id: str) -> int:
        """Unload a model and remove its files from the models folder; returns bytes freed
        (0 for a symbolic link, whose target is left alone)."""
        local = next((m for m in await self.store.scan_async() if m.id == model_id), None)
        if local is None and model_id in self.store.invalid:  # a damaged file: deletable too
            bad = self.store.models_dir / model_id
            size = bad.stat().st_size if bad.is_file() and not bad.is_symlink() else 0
            local = LocalModel(model_id, bad, "gguf" if bad.is_file() else "hf", size)
        if local is None:
            raise NotFound(
                f"'{model_id}' is not in the models folder (Hub-cache and remote models are not "
                "deleted here).",
                param="model_id",
            )
        lock = self._locks.setdefault(model_id, asyncio.Lock())
        async with lock:
            current = self._loaded.get(model_id)
            if current is not None:
                self._refuse_if_busy(current, "delete it")
                await self._unload(current)
            path = self.store.models_dir / local.path.name  # never follow a link out of it
            if path.is_symlink() or path.is_file():
                freed = 0 if path.is_symlink() else path.stat().st_size
                await asyncio.to_thread(path.unlink)
            else:
                freed = local.size_bytes
                await asyncio.to_thread(shutil.rmtree, path)
        self.store.invalidate()
        log.info("deleted %s (%d bytes)", model_id, freed)
        return freed

    async def _make_room(self, model_id: str, needed: int) -> None:
        """Evict least recently used idle models until ``model_id`` fits the count and memory
        limits. Runs under the capacity lock."""
        budget = await asyncio.to_thread(self.memory_budget)  # may probe the GPU
        limit = self.settings.max_loaded_models
        while True:
            others = [m for m in self._loaded.values() if m.model_id != model_id]
            loading = {k: v for k, v in self._pending.items() if k != model_id}
            used = sum(m.memory for m in others) + sum(loading.values())
            over_count = limit > 0 and len(others) + len(loading) >= limit
            over_memory = used + needed > budget
            if not over_count and not over_memory:
                return
            idle = sorted((m for m in others if not m.busy()), key=lambda m: m.last_used)
            if idle:
                log.info("evicting %s (least recently used) to load %s", idle[0].model_id, model_id)
                await self._unload(idle[0])
                continue
            if not others and not loading:  # nothing to evict: the model alone is too big
                raise InsufficientStorage(
                    f"'{model_id}' needs about {needed:,} bytes of memory, over the budget of "
                    f"{budget:,} (MP_MODEL_MEMORY_BUDGET_BYTES).",
                    code="insufficient_memory",
                )
            raise Overloaded(
                f"Cannot load '{model_id}' now: the loaded models are all busy and the "
                f"{'max_loaded_models limit' if over_count else 'memory budget'} is reached.",
                retry_after_s=5,
            )

    async def _reap_idle(self) -> None:
        """Unload models idle past their keep-alive."""
        while True:
            await asyncio.sleep(_REAP_INTERVAL)
            now = time.time()
            for model in list(self._loaded.values()):
                expires = model.expires_at
                if expires is None or expires > now or model.busy():
                    continue
                lock = self._locks.setdefault(model.model_id, asyncio.Lock())
                if lock.locked():
                    continue  # being (re)loaded or unloaded right now
                async with lock:
                    expires = model.expires_at
                    if expires is not None and expires <= time.time() and not model.busy():
                        log.info("keep-alive expired: unloading %s", model.model_id)
                        try:
                            await self._unload(model)
                        except Exception:  # an engine failing to free must not stop the task
                            log.exception("unloading %s failed", model.model_id)

    async def shutdown(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for model in list(self._loaded.values()):
            await self._unload(model)


def _free_late(instance: Backend, model_id: str) -> None:
    """A load that ended after its request gave up: free what it loaded (in a thread)."""

    def work() -> None:
        try:
            instance.unload()
            log.info("freed the late load of %s", model_id)
        except Exception:
            log.exception("freeing the late load of %s failed", model_id)

    threading.Thread(target=work, name=f"free-{model_id[:16]}", daemon=True).start()
