"""Local and loaded models: ``/api/v1/models``."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import CatalogDep, ModelManagerDep, ModelStoreDep, QuantizeDep
from app.schemas.catalog import CatalogResponse, DeletedModel
from app.schemas.common import error_responses
from app.schemas.models import (
    InvalidModelInfo,
    LoadedModelInfo,
    LocalModelInfo,
    ModelsOverview,
    ReplicaInfo,
)
from app.schemas.quantize import ModelLineage
from app.services.models.bundled import is_bundled
from app.services.models.manager import LoadedModel, ModelManager
from app.services.models.store import LocalModel, is_demo
from app.services.quantize.store import Lineage

router = APIRouter(prefix="/models", tags=["models"])


def loaded_info(model: LoadedModel) -> LoadedModelInfo:
    engine = model.backend
    return LoadedModelInfo(
        id=model.model_id,
        backend=model.backend_name,
        backend_reason=model.backend_reason,
        device=engine.device,
        dtype=engine.dtype,
        memory_bytes=engine.memory_bytes,
        context_length=engine.context_length,
        loaded_at=model.loaded_at,
        last_used=model.last_used,
        load_seconds=model.load_seconds,
        tokens_generated=engine.stats.tokens_generated,
        requests_total=engine.stats.requests_total,
        active_requests=engine.stats.active_requests,
        queue_depth=engine.queue_depth,
        keep_alive_s=model.keep_alive_s,
        expires_at=model.expires_at,
        replicas=[ReplicaInfo(**asdict(r)) for r in engine.replicas()],
    )


def _lineage(model: LocalModel, rows: dict[str, Lineage]) -> ModelLineage | None:
    """The stored lineage of a model this server quantized, while its file is the one written
    (same size: a deleted model's name may be reused by another file)."""
    row = rows.get(model.id)
    if row is None or row.size_bytes != model.size_bytes:
        return None
    return ModelLineage(
        parent=row.parent,
        type=row.type,
        size_bytes=row.size_bytes,
        parameters=row.parameters,
        bits_per_weight=round(row.bits_per_weight, 3),
        job_id=row.job_id,
    )


def local_infos(
    local: list[LocalModel], manager: ModelManager, lineage: dict[str, Lineage]
) -> list[LocalModelInfo]:
    return [
        LocalModelInfo(
            id=m.id,
            format=m.format,
            size_bytes=m.size_bytes,
            description=m.description,
            loaded=manager.get_loaded(m.id) is not None,
            demo=is_demo(m),
            bundled=is_bundled(m.id),
            lineage=_lineage(m, lineage),
        )
        for m in local
    ]


@router.get("", response_model=ModelsOverview)
async def list_models(
    store: ModelStoreDep, manager: ModelManagerDep, quantize: QuantizeDep
) -> ModelsOverview:
    """Models available locally (with the lineage of those quantized here) and models loaded
    in memory."""
    # The scan also refreshes store.invalid (files that are not loadable models).
    lineage = await asyncio.to_thread(quantize.lineage)
    local = local_infos(await store.scan_async(), manager, lineage)
    return ModelsOverview(
        local=local,
        loaded=[loaded_info(m) for m in manager.loaded()],
        default_model=await manager.default_model_id_async(),
        invalid=[InvalidModelInfo(id=k, problem=v) for k, v in sorted(store.invalid.items())],
    )


@router.get("/loaded", response_model=list[LoadedModelInfo])
async def list_loaded_models(manager: ModelManagerDep) -> list[LoadedModelInfo]:
    """Models in memory, with backend, memory and counters."""
    return [loaded_info(m) for m in manager.loaded()]


@router.post(
    "/{model_id:path}/load",
    response_model=LoadedModelInfo,
    responses=error_responses(400, 404, 503),
)
async def load_model(
    model_id: str, manager: ModelManagerDep, backend: str | None = None
) -> LoadedModelInfo:
    """Load a model now (no-op when it is loaded on that backend already)."""
    loaded, _ = await manager.get(model_id, backend, reserve=False)
    return loaded_info(loaded)


@router.post("/{model_id:path}/unload", status_code=204, responses=error_responses(404))
async def unload_model(model_id: str, manager: ModelManagerDep) -> None:
    """Free a loaded model's memory."""
    await manager.unload(model_id)


@router.get("/catalog", response_model=CatalogResponse)
async def model_catalog(
    catalog: CatalogDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200, description="Search text; also searches the Hub when it is reachable."
        ),
    ] = None,
    format: Annotated[Literal["hf", "gguf"] | None, Query(description="Only this format.")] = None,
    fits: Annotated[
        bool | None,
        Query(description="Only models that fit (true) or do not fit (false) in free memory."),
    ] = None,
) -> CatalogResponse:
    """Local, curated and Hub models with size, format, memory fit and download status."""
    return await catalog.catalog(q, format, fits)


@router.delete("/{model_id:path}", response_model=DeletedModel, responses=error_responses(404, 409))
async def delete_model(model_id: str, manager: ModelManagerDep) -> DeletedModel:
    """Unload a model and delete its files from the models folder."""
    freed = await manager.delete(model_id)
    return DeletedModel(id=model_id, freed_bytes=freed)
