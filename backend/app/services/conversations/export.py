"""A conversation as a Markdown document (the JSON export is the API's own object)."""

from __future__ import annotations

import datetime as dt

from app.services.conversations.store import ConversationRecord, MessageRecord


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def to_markdown(conversation: ConversationRecord) -> str:
    """Title, settings, then each message under a heading; answers end with their figures."""
    lines = [f"# {conversation.title}", ""]
    lines.append(f"- Created: {_when(conversation.created_at)}")
    if conversation.model:
        lines.append(f"- Model: {conversation.model}")
    if conversation.system:
        lines += ["", "## System", "", conversation.system]
    for message in conversation.messages:
        lines += ["", f"## {message.role.capitalize()}", "", message.content]
        for call in message.tool_calls or ():
            lines += ["", f"- Called `{call['server']}.{call['tool']}` with `{call['arguments']}`"]
        if message.tool_result is not None:
            result = message.tool_result
            lines += ["", f"*{result['server']}.{result['tool']}: {result['status']}*"]
        if message.role == "assistant":
            lines += ["", f"*{_figures_line(message)}*"]
    return "\n".join(lines) + "\n"


def _figures_line(message: MessageRecord) -> str:
    f = message.figures or {}
    parts = [f"{message.model} on {message.backend}"]
    if f.get("ttft_ms") is not None:
        parts.append(f"TTFT {f['ttft_ms']:.0f} ms")
    if f.get("tokens_per_second") is not None:
        parts.append(f"{f['tokens_per_second']:.1f} tok/s")
    if f.get("completion_tokens") is not None:
        parts.append(f"{f['completion_tokens']} tokens")
    if message.finish_reason:
        parts.append(f"finish: {message.finish_reason}")
    return " · ".join(parts)
