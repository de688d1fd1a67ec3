"""The model catalog: local models, a curated list shipped with the app, and Hub search.

Each entry says what it is (format, size, parameters, quantization, suggested backend), whether
it is ready, downloading or available, and whether it would fit in free memory. The Hub part is
best effort: unreachable or disabled (``HF_HUB_OFFLINE``), the catalog still answers, with
``hub: offline`` and the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

from app.backends.base import ModelFormat
from app.core.config import ModelSettings
from app.core.hardware import cuda_devices, memory_info
from app.schemas.catalog import CatalogEntry, CatalogResponse, CatalogStatus, MemoryFit
from app.services.downloads import DownloadService
from app.services.downloads.hub import hub_endpoint, hub_probe, hub_token
from app.services.models.bundled import is_bundled
from app.services.models.inspection import inspect_model
from app.services.models.store import ModelStore

log = logging.getLogger(__name__)

CURATED_PATH = Path(__file__).resolve().parents[2] / "data" / "catalog.json"
SUGGESTED_BACKEND = {
    "hf": "transformers",
    "gguf": "llamacpp",
    "ollama": "ollama",
    "remote": "remote",
}
_RUNTIME_OVERHEAD = 200 * 1024 * 1024
_HUB_STATUS_TTL = 30.0


def load_curated(path: Path = CURATED_PATH) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["models"])


def available_memory() -> int:
    gpus = cuda_devices()
    if gpus:
        return max(int(g["free_bytes"]) for g in gpus)
    return memory_info()["available_bytes"]


def memory_fit(size_bytes: int | None, available: int) -> MemoryFit:
    if size_bytes is None:
        return MemoryFit(fits=None, required_bytes=None, available_bytes=available)
    required = int(size_bytes * 1.15) + _RUNTIME_OVERHEAD
    return MemoryFit(fits=required <= available, required_bytes=required, available_bytes=available)


class CatalogService:
    """Builds catalog listings; holds a short cache of the Hub's reachability."""

    def __init__(
        self, settings: ModelSettings, store: ModelStore, downloads: DownloadService
    ) -> None:
        self.settings = settings
        self.store = store
        self.downloads = downloads
        self.curated = load_curated()
        self._hub_status: tuple[float, str | None] | None = None  # (checked_at, error)

    async def catalog(
        self,
        q: str | None = None,
        fmt: str | None = None,
        fits: bool | None = None,
        limit: int = 20,
    ) -> CatalogResponse:
        available = available_memory()
        active = self.downloads.active_names()
        active_sources = set(active.values())
        local = await asyncio.to_thread(self._local, available)
        local_ids = {e.id for e in local}
        entries = list(local)
        for item in self.curated:
            name = str(item["name"])
            # A running job wins over an older local copy: the UI shows its progress.
            status: CatalogStatus = (
                "downloading"
                if name in active or item["repo"] in active_sources
                else "ready"
                if name in local_ids
                else "available"
            )
            entries.append(
                CatalogEntry(
                    id=str(item["id"]),
                    name=name,
                    source="curated",
                    repo=str(item["repo"]),
                    files=item.get("files"),
                    allow_patterns=item.get("allow_patterns"),
                    format=item["format"],
                    size_bytes=item.get("size_bytes"),
                    parameters=item.get("parameters"),
                    quantization=item.get("quantization"),
                    suggested_backend=SUGGESTED_BACKEND.get(str(item["format"])),
                    license=item.get("license"),
                    description=item.get("description"),
                    memory_fit=memory_fit(item.get("size_bytes"), available),
                    status=status,
                )
            )
        hub_error: str | None
        if q:
            hub_entries, hub_error = await asyncio.to_thread(self._search, q, limit, available)
            known = {e.repo for e in entries if e.repo}
            for entry in hub_entries:
                if entry.repo in known:
                    continue
                if entry.repo in active_sources:
                    entry.status = "downloading"
                elif entry.name in local_ids:
                    entry.status = "ready"
                entries.append(entry)
        else:
            hub_error = await asyncio.to_thread(self._hub_reachable)
        entries = [e for e in entries if _matches(e, q, fmt, fits)]
        return CatalogResponse(
            data=entries,
            hub="offline" if hub_error else "online",
            hub_detail=hub_error,
            hub_endpoint=hub_endpoint(),
        )

    def _local(self, available: int) -> list[CatalogEntry]:
        entries = []
        for model in self.store.scan():
            facts = inspect_model(model.path, model.format)
            entries.append(
                CatalogEntry(
                    id=model.id,
                    name=model.id,
                    source="local",
                    format=model.format,
                    size_bytes=model.size_bytes,
                    parameters=facts.parameters,
                    quantization=facts.quantization,
                    suggested_backend=SUGGESTED_BACKEND.get(model.format),
                    description=model.description,
                    memory_fit=memory_fit(model.size_bytes, available),
                    status="ready",
                    bundled=is_bundled(model.id),
                )
            )
        return entries

    def _hub_api(self):  # noqa: ANN202 - huggingface_hub is imported lazily
        from huggingface_hub import HfApi

        return HfApi(endpoint=hub_endpoint(), token=hub_token() or False)

    def _hub_reachable(self) -> str | None:
        """None when the Hub answers, else why not (cached for a few seconds)."""
        now = time.monotonic()
        if self._hub_status and now - self._hub_status[0] < _HUB_STATUS_TTL:
            return self._hub_status[1]
        error = hub_probe(self.settings.hub_timeout_seconds)
        self._hub_status = (now, error)
        return error

    def _search(self, q: str, limit: int, available: int) -> tuple[list[CatalogEntry], str | None]:
        if (reason := self._hub_reachable()) is not None:
            return [], reason
        try:
            found = list(self._hub_api().list_models(search=q, limit=limit))
        except Exception as exc:
            error = f"{hub_endpoint()} did not answer: {type(exc).__name__}"
            self._hub_status = (time.monotonic(), error)
            return [], error
        self._hub_status = (time.monotonic(), None)
        entries = []
        for info in found:
            tags = set(info.tags or [])
            fmt: ModelFormat | None = "gguf" if "gguf" in tags else None
            if fmt is None and tags & {"safetensors", "pytorch"}:
                fmt = "hf"
            params = None
            if getattr(info, "safetensors", None) is not None:
                params = getattr(info.safetensors, "total", None)
            size = params * 2 if params and fmt == "hf" else None  # bf16 weights
            entries.append(
                CatalogEntry(
                    id=info.id,
                    name=info.id.split("/")[-1],
                    source="hub",
                    repo=info.id,
                    format=fmt,
                    size_bytes=size,
                    parameters=params,
                    quantization=None,
                    suggested_backend=SUGGESTED_BACKEND.get(fmt or ""),
                    downloads=info.downloads,
                    description=getattr(info, "pipeline_tag", None),
                    memory_fit=memory_fit(size, available),
                    status="available",
                )
            )
        return entries, None


def _matches(entry: CatalogEntry, q: str | None, fmt: str | None, fits: bool | None) -> bool:
    if fmt and entry.format != fmt:
        return False
    if fits is not None and entry.memory_fit.fits is not fits:
        return False
    if q and entry.source != "hub":
        text = " ".join(filter(None, [entry.id, entry.name, entry.repo, entry.description]))
        return q.lower() in text.lower()
    return True
