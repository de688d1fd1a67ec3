"""Ollama's API to ours and back: options to sampling parameters, chat messages, tools and
``think`` to internal types, calls and outcomes to Ollama's shapes. Only the Ollama routes use
it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from app.backends.types import ChatMessage, ToolCall, ToolSpec, ToolUse
from app.schemas.ollama import FormatValue, OllamaChatMessage, OllamaChatRequest, OllamaOptions
from app.services.generation import GenerationOutcome, ParamsInput
from app.services.tools.formats import new_call_id

# Ollama's defaults for options a request leaves out.
DEFAULT_TEMPERATURE = 0.8
DEFAULT_TOP_K = 40
DEFAULT_TOP_P = 0.9
DEFAULT_REPEAT_PENALTY = 1.1


def model_id(name: str) -> str:
    """Our model id for an Ollama-style name: Ollama clients add ':latest' to bare names."""
    return name.removesuffix(":latest")


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def now_rfc3339() -> str:
    return rfc3339(time.time())


def params_from(options: OllamaOptions | None, fmt: FormatValue) -> ParamsInput:
    o = options or OllamaOptions()
    max_tokens = o.num_predict if o.num_predict is not None and o.num_predict > 0 else None
    return ParamsInput.from_request(
        o,
        max_tokens=max_tokens,
        temperature=DEFAULT_TEMPERATURE if o.temperature is None else o.temperature,
        top_p=DEFAULT_TOP_P if o.top_p is None else o.top_p,
        top_k=DEFAULT_TOP_K if o.top_k is None else o.top_k,
        repetition_penalty=DEFAULT_REPEAT_PENALTY if o.repeat_penalty is None else o.repeat_penalty,
        stop=list(o.stop or []),
        json_schema=schema_text(fmt),
    )


def schema_text(fmt: FormatValue) -> str | None:
    """Ollama's ``format``: 'json' is any JSON object, a dict is a JSON schema."""
    if fmt in (None, ""):
        return None
    if fmt == "json":
        return json.dumps({"type": "object"})
    return json.dumps(fmt)


def final_fields(outcome: GenerationOutcome) -> dict[str, Any]:
    """Ollama's closing statistics (durations in nanoseconds)."""
    usage, timings = outcome.usage(), outcome.timings()
    ms = 1_000_000
    ttft = timings.ttft_ms or timings.total_ms
    reason = {"length": "length", "stop": "stop"}.get(outcome.finish_reason or "", "stop")
    return {
        "done": True,
        "done_reason": reason,
        "total_duration": int(timings.total_ms * ms),
        "load_duration": int(timings.load_ms * ms),
        "prompt_eval_count": usage.prompt_tokens,
        "prompt_eval_duration": int(max(ttft - timings.load_ms, 0) * ms),
        "eval_count": usage.completion_tokens,
        "eval_duration": int(max(timings.total_ms - ttft, 0) * ms),
        "backend": timings.backend,
        "backend_reason": timings.backend_reason,
    }


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
