"""Chat messages as the dictionaries Jinja chat templates read (HF and GGUF templates alike)."""

from __future__ import annotations

import json
from typing import Any

from app.backends.base import ChatEnding, ChatMessage
from app.backends.chat_template import ChatTemplate


def _arguments(text: str) -> Any:
    # Templates (Qwen, Llama 3, Mistral) write arguments with `tojson`: give them the object.
    try:
        return json.loads(text)
    except ValueError:
        return text


def template_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """OpenAI-shaped message dicts, with ``tool_calls`` and ``tool_call_id`` where present."""
    out: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            item["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": _arguments(c.arguments)},
                }
                for c in m.tool_calls
            ]
        if m.tool_call_id is not None:
            item["tool_call_id"] = m.tool_call_id
        out.append(item)
    return out


class LocalChatTemplate:
    """``render_chat`` for engines that apply the model's chat template themselves (llama.cpp,
    Transformers): mix in before :class:`Backend` and set ``self._template`` when loading."""

    _template: ChatTemplate

    @property
    def chat_template(self) -> ChatTemplate:
        return self._template

    def render_chat(
        self,
        messages: list[ChatMessage],
        tools: list[dict[str, Any]] | None = None,
        *,
        ending: ChatEnding = "new_turn",
    ) -> str:
        extra: dict[str, Any] = {"tools": tools} if tools else {}
        return self._template.render(template_messages(messages), ending=ending, **extra)

    def chat_template_text(self) -> str:
        return self._template.source or ""
