"""How a template family writes tool calls: the base class and the choice of family.

A family says where a call starts in the model's text (so a stream can hold it back), how to
parse calls out of the text (vLLM's tool parsers do the same per family), what text starts a
forced call and which JSON schema the constrained part must follow. The family comes from the
model's chat template; templates that show no known format get the Hermes format, which the
system prompt of ``prompting.py`` then teaches the model.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from app.backends.base import ToolCall, ToolSpec, ToolUse
from app.services.tools.nesting import Definitions


@dataclass(frozen=True)
class ParsedCall:
    """A call found in model text: the function name and its arguments as JSON text."""

    name: str
    arguments: str


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def call_object(call: dict[str, Any], args_key: str = "arguments") -> ParsedCall | None:
    """A :class:`ParsedCall` from ``{"name": ..., "arguments": {...}}`` (or None)."""
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        return None
    args = call.get(args_key, call.get("arguments", call.get("parameters", {})))
    if isinstance(args, str):  # some models write the arguments as a JSON string
        try:
            args = json.loads(args)
        except ValueError:
            return None
    if not isinstance(args, dict):
        return None
    return ParsedCall(call["name"], json.dumps(args, ensure_ascii=False))


def call_schemas(
    use: ToolUse, args_key: str = "arguments"
) -> tuple[list[dict[str, Any]], Definitions]:
    """The schema of one call object per allowed tool, name first (so a stream learns the name
    early), and the definitions their parameters refer to: put them at the root of the
    document that holds the call objects with :meth:`Definitions.root`."""
    defs = Definitions()
    schemas = [
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "enum": [spec.name]},
                args_key: defs.place(spec.name, json.loads(spec.parameters)),
            },
            "required": ["name", args_key],
            "additionalProperties": False,
        }
        for spec in allowed_tools(use)
    ]
    return schemas, defs


def allowed_tools(use: ToolUse) -> list[ToolSpec]:
    if use.choice == "function":
        return [t for t in use.tools if t.name == use.function]
    return list(use.tools)


def one_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


class ToolFormat(ABC):
    """One template family's tool-call format."""

    name: str
    # Text put at the start of the assistant turn when a call is forced (the constrained JSON
    # follows it).
    forced_prefix: str = ""

    @abstractmethod
    def find_start(self, text: str) -> int:
        """Index where a tool call starts in ``text`` (content so far), or -1."""

    def held_back(self, text: str) -> int:
        """How many trailing characters of ``text`` could be the start of a call marker."""
        return 0

    @abstractmethod
    def parse(self, text: str) -> list[ParsedCall]:
        """The calls in ``text`` (which starts at a call); [] when it holds none."""

    @abstractmethod
    def forced_schema(self, use: ToolUse) -> dict[str, Any]:
        """Schema of the constrained output after :attr:`forced_prefix`."""

    @abstractmethod
    def render_calls(self, calls: tuple[ToolCall, ...]) -> str:
        """Earlier calls written as the model writes them (for templates without tools)."""


def marker_hold(text: str, marker: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``marker``."""
    for k in range(min(len(marker) - 1, len(text)), 0, -1):
        if text.endswith(marker[:k]):
            return k
    return 0


def format_for_template(template: str) -> ToolFormat:
    """The tool-call format a chat template uses (Hermes when it shows none)."""
    from app.services.tools.hermes import HermesFormat
    from app.services.tools.llama3 import Llama3Format
    from app.services.tools.mistral import MistralFormat

    if "[TOOL_CALLS]" in template:
        return MistralFormat()
    if "<|python_tag|>" in template or ("ipython" in template and "<|eot_id|>" in template):
        return Llama3Format()
    return HermesFormat()


def template_takes_tools(template: str) -> bool:
    """Whether a chat template renders a ``tools`` variable (then it gets our tools)."""
    return "tools" in template
