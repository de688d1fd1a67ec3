"""Ollama's chat messages, tools and ``think`` translated to and from our internal types."""

from __future__ import annotations

import json
from typing import Any

from app.backends.base import ChatMessage, ToolCall, ToolSpec, ToolUse
from app.schemas.ollama import OllamaChatMessage, OllamaChatRequest
from app.services.tools.formats import new_call_id


def chat_messages(messages: list[OllamaChatMessage]) -> list[ChatMessage]:
    """Ollama messages as ours. Ollama's tool results name no call id, so none is checked."""
    out = []
    for m in messages:
        calls = tuple(
            ToolCall(new_call_id(), c.function.name, json.dumps(c.function.arguments))
            for c in m.tool_calls or []
        )
        out.append(ChatMessage(m.role, m.content, tool_calls=calls))
    return out


def tool_use(body: OllamaChatRequest) -> ToolUse | None:
    """Ollama has no tool_choice: tools are offered, the model decides ("auto")."""
    if not body.tools:
        return None
    specs = tuple(
        ToolSpec(
            t.function.name,
            t.function.description or "",
            json.dumps(t.function.parameters or {"type": "object", "properties": {}}),
        )
        for t in body.tools
    )
    return ToolUse(specs, "auto")


def wants_thinking(think: bool | str | None) -> bool:
    """``think``: true or a level ('low', 'medium', 'high') asks for ``message.thinking``."""
    return bool(think) and think not in ("false", "none")


def ollama_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    """Our calls in Ollama's shape: ``{"function": {"index", "name", "arguments": {...}}}``."""
    return [
        {"function": {"index": i, "name": c.name, "arguments": json.loads(c.arguments or "{}")}}
        for i, c in enumerate(calls)
    ]
