"""Anthropic Messages types to the internal generation types and back."""

from __future__ import annotations

import asyncio
import json

from app.backends.types import ChatEnding, ChatMessage, ToolCall, ToolSpec, ToolUse
from app.core.errors import InvalidRequest
from app.schemas.anthropic import (
    MessagesRequest,
    StopReason,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    _MessagesBase,
)
from app.services.generation import GenerationOutcome, ParamsInput


def chat_messages(body: _MessagesBase) -> list[ChatMessage]:
    """``system`` plus the turns: text blocks joined, ``tool_use`` blocks as the assistant's
    tool calls, each ``tool_result`` as a tool message; other block types are refused (400)."""
    out: list[ChatMessage] = []
    system = body.system_text()
    if system:
        out.append(ChatMessage("system", system))
    for i, message in enumerate(body.messages):
        if isinstance(message.content, str):
            out.append(ChatMessage(message.role, message.content))
            continue
        parts: list[str] = []
        calls: list[ToolCall] = []
        for j, block in enumerate(message.content):
            if isinstance(block, TextBlock):
                parts.append(block.text)
            elif isinstance(block, ToolUseBlock) and message.role == "assistant":
                calls.append(ToolCall(block.id, block.name, json.dumps(block.input)))
            elif isinstance(block, ToolResultBlock) and message.role == "user":
                text = block.text()
                out.append(
                    ChatMessage(
                        "tool",
                        f"Error: {text}" if block.is_error else text,
                        tool_call_id=block.tool_use_id,
                    )
                )
            else:
                raise InvalidRequest(
                    f"messages.{i}.content.{j}: content blocks of type '{block.type}' are "
                    f"not supported in a {message.role} turn by this server.",
                    param=f"messages.{i}.content.{j}.type",
                )
        if parts or calls:
            out.append(ChatMessage(message.role, "".join(parts), tool_calls=tuple(calls)))
    return out


def chat_ending(messages: list[ChatMessage]) -> ChatEnding:
    """How the prompt ends: a final assistant turn (text, no tool calls) is a prefill, which
    the reply continues rather than answers (Anthropic's rule); anything else opens a turn.
    As Anthropic does, a prefill ending in whitespace is refused (400)."""
    last = messages[-1] if messages else None
    if last is None or last.role != "assistant" or last.tool_calls:
        return "new_turn"
    if last.content != last.content.rstrip():
        raise InvalidRequest(
            "messages: final assistant content cannot end with trailing whitespace.",
            param="messages",
        )
    return "continue"


def tool_use(body: _MessagesBase) -> ToolUse | None:
    """``tools`` and ``tool_choice`` as the internal :class:`ToolUse` (OpenAI's choices:
    any -> required, tool -> that function)."""
    choice = body.tool_choice
    if not body.tools:
        if choice is not None and choice.type not in ("auto", "none"):
            raise InvalidRequest("tool_choice needs tools.", param="tool_choice")
        return None
    specs = tuple(ToolSpec(t.name, t.description, json.dumps(t.input_schema)) for t in body.tools)
    parallel = not (choice and choice.disable_parallel_tool_use)
    if choice is None or choice.type == "auto":
        return ToolUse(specs, "auto", parallel=parallel)
    if choice.type == "none":
        return ToolUse(specs, "none", parallel=parallel)
    if choice.type == "any":
        return ToolUse(specs, "required", parallel=parallel)
    if not choice.name or choice.name not in {t.name for t in body.tools}:
        raise InvalidRequest(
            "tool_choice.name must name one of the tools.", param="tool_choice.name"
        )
    return ToolUse(specs, "function", choice.name, parallel=parallel)


def params(body: MessagesRequest) -> ParamsInput:
    return ParamsInput.from_request(body, stop=list(body.stop_sequences or []))


def tool_input(arguments: str) -> dict:
    """A call's arguments as the ``input`` object (``{}`` if they are not a JSON object)."""
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


async def stop_reason(
    outcome: GenerationOutcome, stops: list[str], called: bool = False
) -> tuple[StopReason, str | None]:
    """``tool_use``, ``max_tokens``, ``stop_sequence`` (with the one that matched) or
    ``end_turn``.

    Engines report only "stop" for both end-of-turn and a stop string, and hold the stop
    string's text back; the sampled tokens still contain it, so the earliest stop sequence in
    their decoded text is the one that ended the turn (none there: the model ended it)."""
    if called:
        return "tool_use", None
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
