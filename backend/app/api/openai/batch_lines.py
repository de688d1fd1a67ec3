"""Runs one batch line through the same handler as the interactive endpoint it names, so a
batch request is served exactly like a live one (validation, the generation service, the
response body), minus the HTTP around it."""

from __future__ import annotations

from typing import Any, cast

from fastapi import FastAPI, Request
from pydantic import BaseModel, ValidationError

from app.api.openai.chat import create_chat_completion
from app.api.openai.completions import create_completion
from app.api.openai.embeddings import create_embeddings
from app.core.errors import InvalidRequest
from app.schemas.openai import ChatCompletionRequest, CompletionRequest
from app.schemas.rag import EmbeddingRequest
from app.services.batches.runner import Dispatcher


class _Offline:
    """Stands in for the HTTP request: a batch line has no client that can go away (the
    runner cancels it instead)."""

    async def is_disconnected(self) -> bool:
        return False


def _parse(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidRequest(
            f"{where}: {first.get('msg')}" if where else str(first.get("msg")), param=where or None
        ) from None


def make_dispatcher(app: FastAPI) -> Dispatcher:
    state = app.state
    offline = cast(Request, _Offline())

    async def dispatch(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        result: Any
        if url == "/v1/chat/completions":
            req = _parse(ChatCompletionRequest, body)
            result = await create_chat_completion(req, state.generation, offline)
        elif url == "/v1/completions":
            result = await create_completion(
                _parse(CompletionRequest, body), state.generation, offline
            )
        elif url == "/v1/embeddings":
            result = await create_embeddings(_parse(EmbeddingRequest, body), state.embeddings)
        else:
            raise InvalidRequest(f"url '{url}' is not supported in a batch.", param="url")
        return 200, result.model_dump(mode="json")

    return dispatch
