"""An answer with MCP tools as the conversation keeps it: the agent loop's events turned into
the answer's stream events and, at the end, into the messages saved.

A turn whose model called tools is saved as what the model saw: for each round of calls an
assistant message with its calls (and any text of that round) and one tool message per
result, then the answering assistant message with the turn's figures. A turn stopped mid-way
keeps what was done: a call stopped before its result gets a tool message that says so (every
call stays answered, as chat templates expect), and the last message is the text generated so
far, ``finish_reason`` cancelled.
"""

from __future__ import annotations

from typing import Any, Literal

from app.services.conversations.store import MessageRecord
from app.services.generation.answering import Answer as RoundAnswer
from app.services.mcp.agent import (
    AgentEvent,
    ApprovalAsked,
    RoundDone,
    Token,
    ToolCallMade,
    ToolResult,
)

StreamKind = Literal["token", "tool_call", "approval_request", "tool_result"]
STOPPED_CALL = "The call was stopped before it returned (the answer was stopped)."


class ToolAnswer:
    """Collects one agent turn (see the module docstring)."""

    def __init__(self, parameters: dict[str, Any]) -> None:
        self.parameters = parameters
        self._saved: list[MessageRecord] = []
        self._round: RoundAnswer | None = None  # the last round that finished
        self._text: list[str] = []  # text of the round being generated
        self._calling: MessageRecord | None = None  # the last round's calls, once made
        self._pending: dict[str, ToolCallMade] = {}  # calls without a result yet
        self._prompt = self._completion = 0
        self._ttft: float | None = None

    def add(self, item: AgentEvent) -> list[tuple[StreamKind, Any]]:
        """Take an event of the loop; what the answer's stream sends for it."""
        if isinstance(item, Token):
            self._text.append(item.text)
            return [("token", item.text)]
        if isinstance(item, RoundDone):
            self._round, self._text, self._calling = item.answer, [], None
            usage = item.answer.outcome.usage()
            self._prompt += usage.prompt_tokens
            self._completion += usage.completion_tokens
            if self._ttft is None:
                self._ttft = item.answer.outcome.timings().ttft_ms
            return []
        if isinstance(item, ToolCallMade):
            if self._calling is None:
                self._calling = self._assistant(self._round_content(), None)
                self._calling.finish_reason = "tool_calls"
                self._calling.tool_calls = []
                self._saved.append(self._calling)
            assert self._calling.tool_calls is not None
            self._calling.tool_calls.append(
                {
                    "id": item.id,
                    "server": item.server,
                    "tool": item.tool,
                    "name": item.name,
                    "arguments": item.arguments,
                }
            )
            self._pending[item.id] = item
            return [("tool_call", item)]
        if isinstance(item, ApprovalAsked):
            return [("approval_request", item)]
        if isinstance(item, ToolResult):
            self._pending.pop(item.id, None)
            self._saved.append(
                _tool_message(
                    item.id,
                    item.content,
                    {
                        "server": item.server,
                        "tool": item.tool,
                        "status": item.status,
                        "duration_ms": round(item.duration_ms, 1),
                        "truncated": item.truncated,
                    },
                )
            )
            return [("tool_result", item)]
        return []

    def records(self) -> list[MessageRecord]:
        """The messages to save; none when the turn was stopped before anything was made."""
        out = list(self._saved)
        for call in self._pending.values():
            stopped = {"server": call.server, "tool": call.tool, "status": "cancelled"}
            out.append(_tool_message(call.id, STOPPED_CALL, {**stopped, "duration_ms": 0.0}))
        finished = self._round is not None and self._calling is None and not self._text
        if finished:
            assert self._round is not None
            final = self._assistant(self._round_content(), self._round)
        else:
            final = self._assistant("".join(self._text), None)
        if not out and not final.content and final.finish_reason == "cancelled":
            return []
        return [*out, final]

    def _round_content(self) -> str:
        return (self._round.content or "") if self._round is not None else ""

    def _assistant(self, content: str, answering: RoundAnswer | None) -> MessageRecord:
        """An assistant message; ``answering`` (the round that answered) gives its figures."""
        last = self._round.outcome if self._round is not None else None
        parameters = dict(self.parameters)
        if last is not None:
            parameters["max_tokens"] = last.job.request.params.max_tokens
        figures: dict[str, float | int | None] | None = None
        finish = "cancelled"
        if answering is not None:
            outcome = answering.outcome
            timings = outcome.timings()
            finish = outcome.finish_reason or "cancelled"
            figures = {
                "ttft_ms": self._ttft,
                "tokens_per_second": timings.tokens_per_second,
                "prompt_tokens": self._prompt,
                "completion_tokens": self._completion,
                "total_ms": timings.total_ms,
            }
        return MessageRecord(
            role="assistant",
            content=content,
            model=None if last is None else last.job.model.model_id,
            backend=None if last is None else last.timings().backend,
            parameters=parameters,
            finish_reason=finish,
            figures=figures,
        )


def _tool_message(call_id: str, content: str, result: dict[str, Any]) -> MessageRecord:
    return MessageRecord(role="tool", content=content, tool_call_id=call_id, tool_result=result)
