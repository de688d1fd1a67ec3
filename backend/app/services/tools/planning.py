"""What the generation service does with a chat request's tools on a local engine: pick the
template family, render tools through the template or our system prompt, and for required or
named choices start the call in the prompt and constrain the rest with a grammar."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.backends.base import ChatMessage, Constraint, ToolUse
from app.services.tools.formats import format_for_template, template_takes_tools
from app.services.tools.output import THINK_CLOSE, THINK_OPEN, OutputPlan
from app.services.tools.prompting import flatten, openai_tools
from app.services.tools.schema_check import constraint_for


@dataclass
class ToolPlan:
    """The rendered inputs and the output plan of one chat request."""

    messages: list[ChatMessage]
    tools: list[dict[str, Any]] | None  # for templates that take them
    output: OutputPlan
    constraint: Constraint | None = None  # set when a call is forced
    prompt_suffix: str = ""  # appended to the rendered prompt (the start of a forced call)


def plan_tools(template: str, messages: list[ChatMessage], use: ToolUse | None) -> ToolPlan:
    """The plan for ``messages`` and ``use`` on a model whose chat template is ``template``."""
    fmt = format_for_template(template)
    active = use is not None and use.choice != "none" and bool(use.tools)
    has_history = any(m.tool_calls or m.role == "tool" for m in messages)
    tools_dicts: list[dict[str, Any]] | None = None
    if template_takes_tools(template):
        rendered = messages
        if active:
            assert use is not None
            tools_dicts = openai_tools(use.tools)
    elif active or has_history:
        rendered = flatten(messages, fmt, use)
    else:
        rendered = messages
    plan = ToolPlan(rendered, tools_dicts, OutputPlan(fmt=fmt if active else None))
    if active and use is not None and use.choice in ("required", "function"):
        plan.constraint = constraint_for(fmt.forced_schema(use), "tool_choice")
        plan.prompt_suffix = plan.output.forced_prefix = fmt.forced_prefix
        plan.output.reasoning = False  # the call starts right away
    return plan


def opens_reasoning(prompt: str) -> bool:
    """Whether the rendered prompt leaves a <think> block open (some templates start one)."""
    tail = prompt.rstrip()
    return tail.endswith(THINK_OPEN) or (
        THINK_OPEN in tail[-200:] and THINK_CLOSE not in tail[tail.rfind(THINK_OPEN) :]
    )


def schema_of(constraint: Constraint | None) -> dict[str, Any] | None:
    return json.loads(constraint.json_schema) if constraint is not None else None
