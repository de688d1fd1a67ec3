"""``GET /v1/models``: local and loaded models in OpenAI's list format."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from app.api.deps import ModelManagerDep, ModelStoreDep
from app.core.errors import ModelNotFound
from app.schemas.common import error_responses
from app.schemas.openai import ModelCard, ModelCardList
from app.services.model_manager import ModelManager
from app.services.model_store import LocalModel

router = APIRouter(tags=["openai"])


def _cards(local: list[LocalModel], manager: ModelManager) -> list[ModelCard]:
    cards: dict[str, ModelCard] = {}
    for model in local:
        loaded = manager.get_loaded(model.id)
        cards[model.id] = ModelCard(
            id=model.id,
            created=int(model.path.stat().st_mtime),
            meta={
                "format": model.format,
                "size_bytes": model.size_bytes,
                "loaded": loaded is not None,
                "backend": loaded.backend_name if loaded else None,
            },
        )
    for loaded in manager.loaded():
        cards.setdefault(
            loaded.model_id,
            ModelCard(
                id=loaded.model_id,
                created=int(loaded.loaded_at),
                meta={"loaded": True, "backend": loaded.backend_name},
            ),
        )
    return list(cards.values())


@router.get("/models", response_model=ModelCardList, operation_id="openai-list_models")
async def list_models(store: ModelStoreDep, manager: ModelManagerDep) -> ModelCardList:
    """Models this server can serve."""
    local = await store.scan_async()
    return ModelCardList(data=await asyncio.to_thread(_cards, local, manager))


@router.get(
    "/models/{model_id:path}",
    response_model=ModelCard,
    responses=error_responses(404),
    operation_id="openai-retrieve_model",
)
async def retrieve_model(
    model_id: str, store: ModelStoreDep, manager: ModelManagerDep
) -> ModelCard:
    """One model by id."""
    local = await store.scan_async()
    for card in await asyncio.to_thread(_cards, local, manager):
        if card.id == model_id:
            return card
    raise ModelNotFound(model_id)
