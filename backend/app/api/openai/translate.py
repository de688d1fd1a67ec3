"""Translation between OpenAI protocol types and the internal generation path."""

from __future__ import annotations

import json
from typing import Literal, cast

from app.backends.types import (
    ChatEnding,
    ChatMessage,
    FinishReason,
    Role,
    TokenLogprob,
    ToolCall,
    ToolSpec,
    ToolUse,
)
from app.core.errors import InvalidRequest
from app.schemas.openai import (
    ChatCompletionRequest,
    ChatEndingFields,
    ChatMessageIn,
    ChoiceLogprobs,
    CompletionLogprobs,
    CompletionRequest,
    FinishReasonOut,
    TokenLogprobOut,
    TopLogprob,
)
from app.services.generation import ParamsInput


def _role(role: str) -> Role:
    """OpenAI's 'developer' is our 'system'; the other roles are the same words."""
    if role == "developer":
        return "system"
    assert role in ("system", "user", "assistant", "tool"), role  # the schema's Literal
    return cast(Role, role)


def chat_messages(messages: list[ChatMessageIn]) -> list[ChatMessage]:
    return [
        ChatMessage(
            _role(m.role),
            m.text(),
            tool_calls=tuple(
                ToolCall(c.id, c.function.name, c.function.arguments) for c in m.tool_calls or []
            ),
            tool_call_id=m.tool_call_id,
        )
        for m in messages
    ]


def tool_use(body: ChatCompletionRequest) -> ToolUse | None:
    """The request's tools and tool_choice as the internal :class:`ToolUse`."""
    if not body.tools:
        if body.tool_choice not in (None, "none", "auto"):
            raise InvalidRequest("tool_choice needs tools.", param="tool_choice")
        return None
    specs = tuple(
        ToolSpec(t.function.name, t.function.description, json.dumps(t.function.parameters))
        for t in body.tools
    )
    choice = body.tool_choice or "auto"
    if isinstance(choice, str):
        return ToolUse(specs, choice, parallel=body.parallel_tool_calls)
    return ToolUse(specs, "function", choice.function.name, parallel=body.parallel_tool_calls)


def chat_ending(body: ChatEndingFields) -> ChatEnding:
    """How the prompt ends: vLLM's fields, with its default (a new assistant turn, also after
    a final assistant message; continuing it only when asked)."""
    if body.continue_final_message:
        return "continue"
    return "new_turn" if body.add_generation_prompt else "none"


def chat_params(body: ChatCompletionRequest) -> ParamsInput:
    top = None
    if body.logprobs:
        top = body.top_logprobs or 0
    return ParamsInput.from_request(
        body,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        stop=body.stop_list(),
        logprobs=top,
        json_schema=body.response_format.schema_text() if body.response_format else None,
        json_schema_param="response_format",
        prediction=body.prediction.text() if body.prediction else None,
    )


def completion_params(body: CompletionRequest) -> ParamsInput:
    return ParamsInput.from_request(
        body,
        # The legacy API defaults to 16 tokens; we keep OpenAI's default.
        max_tokens=body.max_tokens if body.max_tokens is not None else 16,
        stop=body.stop_list(),
        logprobs=body.logprobs,
    )


def openai_finish(reason: FinishReason | None) -> Literal["stop", "length"] | None:
    """OpenAI knows no 'cancelled'; a cancelled response is never seen by its client anyway."""
    if reason is None:
        return None
    return "length" if reason == "length" else "stop"


def chat_finish(reason: FinishReason | None, tool_calls: bool) -> FinishReasonOut | None:
    """:func:`openai_finish`, and ``tool_calls`` when the answer called tools."""
    if reason is None:
        return None
    return "tool_calls" if tool_calls else openai_finish(reason)


def _bytes(token: str) -> list[int]:
    return list(token.encode("utf-8", errors="replace"))


def chat_logprobs(items: list[TokenLogprob]) -> ChoiceLogprobs:
    return ChoiceLogprobs(
        content=[
            TokenLogprobOut(
                token=item.token,
                logprob=item.logprob,
                bytes=_bytes(item.token),
                top_logprobs=[
                    TopLogprob(token=t, logprob=lp, bytes=_bytes(t)) for t, lp in item.top
                ],
            )
            for item in items
        ]
    )


def completion_logprobs(items: list[TokenLogprob], offset: int) -> CompletionLogprobs:
    offsets, at = [], offset
    for item in items:
        offsets.append(at)
        at += len(item.token)
    return CompletionLogprobs(
        tokens=[i.token for i in items],
        token_logprobs=[i.logprob for i in items],
        top_logprobs=[dict(i.top) for i in items],
        text_offset=offsets,
    )
