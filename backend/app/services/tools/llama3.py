"""Llama 3.1+ JSON format: the whole answer is ``{"name": ..., "parameters": {...}}``,
sometimes after ``<|python_tag|>``, several calls separated by ``;``."""

from __future__ import annotations

import json
from typing import Any

from app.backends.base import ToolCall, ToolUse
from app.services.tools.formats import (
    ParsedCall,
    ToolFormat,
    call_object,
    call_schemas,
    one_of,
)

TAG = "<|python_tag|>"


class Llama3Format(ToolFormat):
    name = "llama3_json"

    def find_start(self, text: str) -> int:
        stripped = text.lstrip()
        if stripped.startswith(TAG) or stripped.startswith("{"):
            return len(text) - len(stripped)
        return -1

    def held_back(self, text: str) -> int:
        # At the very start nothing is known yet: hold it until the first characters show.
        stripped = text.lstrip()
        return len(text) if not stripped or TAG.startswith(stripped) else 0

    def parse(self, text: str) -> list[ParsedCall]:
        body = text.strip().removeprefix(TAG).strip()
        decoder = json.JSONDecoder()
        calls, at = [], 0
        while at < len(body):
            try:
                obj, end = decoder.raw_decode(body, at)
            except ValueError:
                return []
            parsed = call_object(obj, "parameters")
            if parsed is None:
                return []
            calls.append(parsed)
            at = end
            while at < len(body) and body[at] in " ;\n\t":
                at += 1
        return calls

    def forced_schema(self, use: ToolUse) -> dict[str, Any]:
        calls, defs = call_schemas(use, "parameters")
        return defs.root(one_of(calls))

    def render_calls(self, calls: tuple[ToolCall, ...]) -> str:
        return "; ".join(
            f'{{"name": {json.dumps(c.name)}, "parameters": {c.arguments}}}' for c in calls
        )
