"""How a model sees tools: through its chat template when the template takes them, else
through a system prompt in the Hermes format (documented in docs/tools.md), with earlier calls
written as the model would write them and tool results as ``<tool_response>`` user turns."""

from __future__ import annotations

import json
from typing import Any

from app.backends.base import ChatMessage, ToolSpec, ToolUse
from app.services.tools.formats import ToolFormat

SYSTEM_PROMPT = """You can call functions. The functions you may call are listed as JSON \
inside <tools></tools>:
<tools>
{tools}
</tools>
To call a function, answer with one JSON object per call inside <tool_call></tool_call> tags:
<tool_call>
{{"name": "<function name>", "arguments": {{<arguments as JSON>}}}}
</tool_call>
Results come back inside <tool_response></tool_response>. If no function is needed, answer \
normally."""


def openai_tools(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    """Tool definitions in OpenAI's shape, as chat templates expect them."""
    return [t.as_openai() for t in tools]


def system_prompt(tools: tuple[ToolSpec, ...]) -> str:
    lines = "\n".join(json.dumps(t, ensure_ascii=False) for t in openai_tools(tools))
    return SYSTEM_PROMPT.format(tools=lines)


def flatten(messages: list[ChatMessage], fmt: ToolFormat, use: ToolUse | None) -> list[ChatMessage]:
    """The conversation for a template that knows nothing of tools: the tool list in the
    system prompt, calls as text, results as user turns (consecutive results joined)."""
    out: list[ChatMessage] = []
    for m in messages:
        if m.role == "assistant" and m.tool_calls:
            text = "\n".join(p for p in (m.content, fmt.render_calls(m.tool_calls)) if p)
            out.append(ChatMessage("assistant", text))
        elif m.role == "tool":
            block = f"<tool_response>\n{m.content}\n</tool_response>"
            if out and out[-1].role == "user" and out[-1].content.startswith("<tool_response>"):
                out[-1] = ChatMessage("user", out[-1].content + "\n" + block)
            else:
                out.append(ChatMessage("user", block))
        else:
            out.append(m)
    if use is not None and use.choice != "none" and use.tools:
        prompt = system_prompt(use.tools)
        if out and out[0].role == "system":
            out[0] = ChatMessage("system", out[0].content + "\n\n" + prompt)
        else:
            out.insert(0, ChatMessage("system", prompt))
    return out
