"""``POST /v1/embeddings``: OpenAI embeddings from the RAG embedder (sentence-transformers)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import numpy as np
from fastapi import APIRouter

from app.api.deps import RagDep, SettingsDep
from app.core.errors import ContextLengthExceeded, InvalidRequest
from app.schemas.common import error_responses
from app.schemas.rag import EmbeddingData, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage
from app.services.limits import check_input_chars

router = APIRouter(tags=["openai"])

MAX_INPUTS = 2048


def _texts(value: str | list[str] | list[int] | list[list[int]]) -> list[str]:
    items: list[Any] = [value] if isinstance(value, str) else list(value)
    if not items:
        raise InvalidRequest("input must not be empty.", param="input")
    texts = [t for t in items if isinstance(t, str)]
    if len(texts) != len(items):
        raise InvalidRequest(
            "input must be a string or a list of strings; token-id arrays are not supported.",
            param="input",
        )
    if len(texts) > MAX_INPUTS:
        raise InvalidRequest(f"input has {len(texts)} items; at most {MAX_INPUTS}.", param="input")
    if any(not t for t in texts):
        raise InvalidRequest("input strings must not be empty.", param="input")
    return texts


@router.post(
    "/embeddings",
    response_model=EmbeddingResponse,
    responses=error_responses(400, 404),
    operation_id="openai-create_embeddings",
)
async def create_embeddings(body: EmbeddingRequest, rag: RagDep, settings: SettingsDep):
    """Embeddings in OpenAI's format (float or base64), unit length."""
    texts = _texts(body.input)
    embedder = rag.embedders.get(body.model, param="model")
    # max_tokens may load the model: read it in a thread, then refuse long texts before any
    # tokenizing.
    max_tokens = await asyncio.to_thread(lambda: embedder.max_tokens)
    check_input_chars(texts, max_tokens, settings.prompt_chars_per_token)

    def work() -> tuple[np.ndarray | None, list[int], int]:
        counts = [embedder.count_tokens(t) for t in texts]
        return (
            embedder.embed(texts) if max(counts) <= embedder.max_tokens else None,
            counts,
            embedder.max_tokens,
        )

    vectors, counts, limit = await asyncio.to_thread(work)
    if vectors is None:
        worst = max(range(len(counts)), key=counts.__getitem__)
        raise ContextLengthExceeded(
            f"input[{worst}] has {counts[worst]} tokens; {body.model} reads at most {limit}. "
            "Split the text into smaller pieces.",
            param="input",
        )
    if body.dimensions is not None and body.dimensions != vectors.shape[1]:
        raise InvalidRequest(
            f"{body.model} has {vectors.shape[1]} dimensions; dimensions "
            f"{body.dimensions} is not supported.",
            param="dimensions",
        )
    data = [
        EmbeddingData(
            index=i,
            embedding=base64.b64encode(v.astype("<f4").tobytes()).decode("ascii")
            if body.encoding_format == "base64"
            else v.tolist(),
        )
        for i, v in enumerate(vectors)
    ]
    tokens = sum(counts)
    return EmbeddingResponse(
        data=data, model=body.model, usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens)
    )
