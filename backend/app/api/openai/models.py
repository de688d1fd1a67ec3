"""``GET /v1/models``: local and loaded models, and the embedding models of ``/v1/embeddings``
(``meta.type: "embedding"``), in OpenAI's list format."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from app.api.deps import EmbeddingsDep, ModelManagerDep, ModelStoreDep
from app.core.errors import ModelNotFound
from app.schemas.common import error_responses
from app.schemas.openai import ModelCard, ModelCardList
from app.services.embeddings import EmbeddingService
from app.services.models.manager import ModelManager
from app.services.models.store import LocalModel

router = APIRouter(tags=["openai"])


def _cards(
    local: list[LocalModel], manager: ModelManager, embeddings: EmbeddingService
) -> list[ModelCard]:
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
    for model in embeddings.embedder_models():
        cards.setdefault(
            model.id,
            ModelCard(
                id=model.id,
                created=int(model.path.stat().st_mtime),
                meta={
                    # OpenAI's model object has no kind; clients filter on this extension.
                    "type": "embedding",
                    "format": model.format,
                    "size_bytes": model.size_bytes,
                    "loaded": embeddings.embedder_loaded(model.id),
                    "backend": "sentence-transformers",
                },
            ),
        )
    return list(cards.values())


@router.get("/models", response_model=ModelCardList, operation_id="openai-list_models")
async def list_models(
    store: ModelStoreDep, manager: ModelManagerDep, embeddings: EmbeddingsDep
) -> ModelCardList:
    """Models this server can serve, embedding models included."""
    local = await store.scan_async()
    return ModelCardList(data=await asyncio.to_thread(_cards, local, manager, embeddings))


@router.get(
    "/models/{model_id:path}",
    response_model=ModelCard,
    responses=error_responses(404),
    operation_id="openai-retrieve_model",
)
async def retrieve_model(
    model_id: str, store: ModelStoreDep, manager: ModelManagerDep, embeddings: EmbeddingsDep
) -> ModelCard:
    """One model by id."""
    local = await store.scan_async()
    for card in await asyncio.to_thread(_cards, local, manager, embeddings):
        if card.id == model_id:
            return card
    raise ModelNotFound(model_id)
