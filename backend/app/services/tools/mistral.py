"""Mistral format: ``[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]``.

``[TOOL_CALLS]`` is a special token that detokenization may drop, so a reply that starts with
the JSON array of calls counts too.
"""

from __future__ import annotations

import json
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

TAG = "[TOOL_CALLS]"


class MistralFormat(ToolFormat):
    name = "mistral"
    forced_prefix = TAG

    def find_start(self, text: str) -> int:
        at = text.find(TAG)
        if at >= 0:
            return at
        stripped = text.lstrip()
        return len(text) - len(stripped) if stripped.startswith('[{"') else -1

    def held_back(self, text: str) -> int:
        stripped = text.lstrip()
        if not stripped or '[{"'.startswith(stripped):
            return len(text)
        return marker_hold(text, TAG)

    def parse(self, text: str) -> list[ParsedCall]:
        body = text.strip().removeprefix(TAG).strip()
        try:
            obj, _ = json.JSONDecoder().raw_decode(body)
        except ValueError:
            return []
        items = obj if isinstance(obj, list) else [obj]
        calls = [call_object(item) for item in items]
        if not calls or any(c is None for c in calls):
            return []
        return [c for c in calls if c is not None]

    def forced_schema(self, use: ToolUse) -> dict[str, Any]:
        calls, defs = call_schemas(use)
        array = {"type": "array", "items": one_of(calls), "minItems": 1}
        return defs.root({**array, "maxItems": 8 if use.parallel else 1})

    def render_calls(self, calls: tuple[ToolCall, ...]) -> str:
        items = ", ".join(
            f'{{"name": {json.dumps(c.name)}, "arguments": {c.arguments}}}' for c in calls
        )
        return f"{TAG}[{items}]"
