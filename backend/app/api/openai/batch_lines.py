"""Runs one batch line the way the interactive endpoint it names serves a request: the same
translation into a prepared generation, the serving driver's whole answer, the same response
body, minus the HTTP around it (a line has no client that can leave: the runner cancels it)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from app.api import serving
from app.api.openai.chat import chat_completion, prepare_chat
from app.api.openai.completions import completion, prepare_completion
from app.api.openai.embeddings import create_embeddings
from app.core.errors import InvalidRequest
from app.schemas.openai import ChatCompletionRequest, CompletionRequest
from app.schemas.rag import EmbeddingRequest
from app.services.batches.runner import Dispatcher


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

    async def dispatch(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        result: BaseModel
        generation = state.generation
        if url == "/v1/chat/completions":
            chat = _parse(ChatCompletionRequest, body)
            job = await prepare_chat(generation, chat)
            result = chat_completion(chat, job, await serving.complete(generation, job))
        elif url == "/v1/completions":
            text = _parse(CompletionRequest, body)
            job = await prepare_completion(generation, text)
            answer = await serving.complete(generation, job, parse=False)
            result = completion(text, job, answer)
        elif url == "/v1/embeddings":
            result = await create_embeddings(_parse(EmbeddingRequest, body), state.embeddings)
        else:
            raise InvalidRequest(f"url '{url}' is not supported in a batch.", param="url")
        return 200, result.model_dump(mode="json")

    return dispatch
