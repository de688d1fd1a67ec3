"""``POST /tokenize`` and ``POST /detokenize`` at the server root, as vLLM serves them."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ModelManagerDep
from app.api.openai.translate import chat_ending, chat_messages
from app.schemas.common import error_responses
from app.schemas.tokenize import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
)
from app.services.generation import tokenization

router = APIRouter(tags=["tokenize"])


@router.post("/tokenize", response_model=TokenizeResponse, responses=error_responses(400, 404))
async def tokenize(body: TokenizeRequest, manager: ModelManagerDep) -> TokenizeResponse:
    """Token ids of a prompt or a conversation, and the model's context length."""
    ids, context = await tokenization.tokenize(
        manager,
        body.model,
        prompt=body.prompt,
        messages=chat_messages(body.messages) if body.messages is not None else None,
        add_special_tokens=body.add_special_tokens,
        chat_ending=chat_ending(body),
    )
    return TokenizeResponse(count=len(ids), max_model_len=context, tokens=ids)


@router.post("/detokenize", response_model=DetokenizeResponse, responses=error_responses(400, 404))
async def detokenize(body: DetokenizeRequest, manager: ModelManagerDep) -> DetokenizeResponse:
    """The text of a list of token ids."""
    return DetokenizeResponse(
        prompt=await tokenization.detokenize(manager, body.model, body.tokens)
    )
