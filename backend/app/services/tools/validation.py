"""Checks on a request's tools and tool history, on internal types (every API uses them)."""

from __future__ import annotations

import json

from app.backends.base import ChatMessage, ToolUse
from app.core.errors import InvalidRequest
from app.services.tools.schema_check import check_schema


def check_tools(use: ToolUse) -> None:
    """400 ``tools`` for a bad definition, 400 ``tool_choice`` for an unknown function."""
    names = set()
    for i, tool in enumerate(use.tools):
        if tool.name in names:
            raise InvalidRequest(f"Two tools are named '{tool.name}'.", param="tools")
        names.add(tool.name)
        check_schema(
            json.loads(tool.parameters), "tools", f"The parameters of tools[{i}] ('{tool.name}')"
        )
    if use.choice == "function" and use.function not in names:
        known = ", ".join(sorted(names)) or "none"
        raise InvalidRequest(
            f"tool_choice names the function '{use.function}', which is not in tools "
            f"(tools: {known}).",
            param="tool_choice",
        )
    if use.choice in ("required", "function") and not use.tools:
        raise InvalidRequest(f"tool_choice '{use.choice}' needs tools.", param="tool_choice")


def check_history(messages: list[ChatMessage]) -> None:
    """Each tool message must answer a call made by an earlier assistant message."""
    called: set[str] = set()
    for i, m in enumerate(messages):
        called.update(c.id for c in m.tool_calls)
        if m.role == "tool" and m.tool_call_id is not None and m.tool_call_id not in called:
            raise InvalidRequest(
                f"messages[{i}] is a tool result for tool_call_id '{m.tool_call_id}', but no "
                "earlier assistant message made a call with that id.",
                param="messages",
            )
