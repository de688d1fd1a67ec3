"""Anthropic Messages types to the internal generation types and back."""

from __future__ import annotations

import asyncio

from app.backends.base import ChatMessage
from app.core.errors import InvalidRequest
from app.schemas.anthropic import MessagesRequest, StopReason, TextBlock, _MessagesBase
from app.services.generation import GenerationOutcome, ParamsInput


def chat_messages(body: _MessagesBase) -> list[ChatMessage]:
    """``system`` plus the turns, text blocks joined; other block types are refused (400)."""
    out: list[ChatMessage] = []
    system = body.system_text()
    if system:
        out.append(ChatMessage("system", system))
    for i, message in enumerate(body.messages):
        if isinstance(message.content, str):
            text = message.content
        else:
            parts = []
            for j, block in enumerate(message.content):
                if not isinstance(block, TextBlock):
                    raise InvalidRequest(
                        f"messages.{i}.content.{j}: content blocks of type '{block.type}' are "
                        "not supported by this server (text only).",
                        param=f"messages.{i}.content.{j}.type",
                    )
                parts.append(block.text)
            text = "".join(parts)
        out.append(ChatMessage(message.role, text))
    return out


def params(body: MessagesRequest) -> ParamsInput:
    return ParamsInput(
        max_tokens=body.max_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        top_k=body.top_k,
        stop=list(body.stop_sequences or []),
    )


async def stop_reason(
    outcome: GenerationOutcome, stops: list[str]
) -> tuple[StopReason, str | None]:
    """``end_turn``, ``max_tokens`` or ``stop_sequence`` (with the sequence that matched).

    Engines report only "stop" for both end-of-turn and a stop string, and hold the stop
    string's text back; the sampled tokens still contain it, so the earliest stop sequence in
    their decoded text is the one that ended the turn (none there: the model ended it)."""
    if outcome.finish_reason == "length":
        return "max_tokens", None
    token_ids = [t for event in outcome.events for t in event.token_ids]
    if not stops or not token_ids:
        return "end_turn", None
    engine = outcome.job.model.backend
    full = await asyncio.to_thread(engine.detokenize, token_ids)
    found = [(full.find(s), s) for s in stops if s in full]
    if not found:
        return "end_turn", None
    return "stop_sequence", min(found)[1]
