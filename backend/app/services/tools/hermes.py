"""Hermes / Qwen format: ``<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>``.

Used by Qwen 2.5/3, Hermes, SmolLM3 and, through our system prompt, every template that shows
no tool format of its own.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.backends.base import ToolCall, ToolUse
from app.services.tools.formats import (
    ParsedCall,
    ToolFormat,
    call_object,
    call_schemas,
    marker_hold,
    one_of,
)

START, END = "<tool_call>", "</tool_call>"
_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


class HermesFormat(ToolFormat):
    name = "hermes"
    forced_prefix = START + "\n"

    def find_start(self, text: str) -> int:
        return text.find(START)

    def held_back(self, text: str) -> int:
        return marker_hold(text, START)

    def parse(self, text: str) -> list[ParsedCall]:
        calls = []
        for body in _BLOCK.findall(text):
            try:
                parsed = call_object(json.loads(body))
            except ValueError:
                return []  # a broken block: leave the whole text as content
            if parsed is None:
                return []
            calls.append(parsed)
        return calls

    def forced_schema(self, use: ToolUse) -> dict[str, Any]:
        calls, defs = call_schemas(use)
        return defs.root(one_of(calls))

    def render_calls(self, calls: tuple[ToolCall, ...]) -> str:
        return "\n".join(
            f'{START}\n{{"name": {json.dumps(c.name)}, "arguments": {c.arguments}}}\n{END}'
            for c in calls
        )
