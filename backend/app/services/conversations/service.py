"""Conversations: stored chats whose answers come from the one :class:`GenerationService`.

An answer is generated on the server, not posted by the client: the server then owns the
record of what was said, which model, backend and parameters produced each answer and what it
cost, so a page reload, a second tab or ``playground chat`` all see the same history, and an
answer a client stops (or loses the connection to) is saved as far as it got.

One answer at a time per conversation: while one is being generated, changing the messages
(send, regenerate, edit, delete) is refused with 409. The guard is in memory, which holds for
the one server process that owns the database.

Each answer runs as its own task (:meth:`ConversationService.start`): a client that goes away
does not stop it, only :meth:`ConversationService.cancel` does, and a client can re-attach to
its events (``running.py``).

An answer with ``mcp_servers`` runs through the MCP agent loop (``services/mcp/agent.py``):
its tool events join the answer's events, and it is saved as the messages it made: for each
round of calls an assistant message with its calls and a tool message per result, then the
answer (``mcp_answer.py``). These are fed back as history on the next turns.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from app.backends.base import ChatMessage, ToolCall
from app.core.errors import AppError, Conflict, GenerationFailed, InvalidRequest, NotFound
from app.services.conversations.mcp_answer import ToolAnswer
from app.services.conversations.running import AnswerEvent, RunningAnswer
from app.services.conversations.store import ConversationRecord, ConversationStore, MessageRecord
from app.services.generation import (
    GenerationOutcome,
    GenerationService,
    ParamsInput,
    PreparedGeneration,
)
from app.services.generation.answering import Answering
from app.services.mcp import AgentLoop, AgentTurn
from app.services.mcp.hub import OfferedTool

log = logging.getLogger(__name__)

DEFAULT_TITLE = "New conversation"
_TITLE_CHARS = 60


@dataclass
class AnswerOptions:
    """What the next answer uses; ``None`` fields fall back to the conversation's own."""

    params: ParamsInput
    parameters: dict[str, Any]  # the client's sampling parameters, stored with the answer
    model: str | None = None
    backend: str | None = None
    system: str | None = None
    allow_fallback: bool = False
    # MCP servers whose tools the answer may call (names or "all"); None: a plain answer.
    mcp_servers: list[str] | str | None = None
    tool_choice: str | None = None
    max_tool_steps: int | None = None
    stream: bool = True  # the answer is streamed (where approval requests can be sent)


@dataclass
class AgentPlan:
    """An answer with MCP tools: the turn the agent loop runs and the tools it offers."""

    turn: AgentTurn
    offered: list[OfferedTool]


@dataclass
class Answer:
    """An answer being generated: the prepared job (or, with MCP tools, the agent turn) and
    where its messages go."""

    conversation_id: str
    job: PreparedGeneration | None
    position: int  # index the answer will take; later messages are replaced
    parameters: dict[str, Any]
    user: MessageRecord | None = None  # the user message this answer replies to, if new
    _token: object = field(default_factory=object)
    agent: AgentPlan | None = None


class ConversationService:
    """Create, list, change and delete conversations, and generate their answers."""

    def __init__(
        self,
        store: ConversationStore,
        generation: GenerationService,
        resume_s: float = 60.0,
        agent: AgentLoop | None = None,
    ) -> None:
        self.store = store
        self.generation = generation
        self.agent = agent
        self.resume_s = resume_s  # how long a finished answer's events stay for re-attaching
        self._active: dict[str, object] = {}
        self._answers: dict[str, RunningAnswer] = {}

    # -- conversations ---------------------------------------------------------------------
    def create(
        self, title: str | None, model: str | None, backend: str | None, system: str | None
    ) -> ConversationRecord:
        return self.store.create(title or DEFAULT_TITLE, model, backend, system)

    def search(self, query: str | None, limit: int) -> list[ConversationRecord]:
        return self.store.search(query, limit)

    def get(self, conversation_id: str) -> ConversationRecord:
        record = self.store.get(conversation_id)
        if record is None:
            raise NotFound(
                f"Conversation '{conversation_id}' does not exist.",
                param="conversation_id",
                code="conversation_not_found",
            )
        return record

    def update(self, conversation_id: str, **changes: str | None) -> ConversationRecord:
        self.get(conversation_id)
        self.store.update(conversation_id, **changes)
        return self.get(conversation_id)

    def delete(self, conversation_id: str) -> None:
        self.get(conversation_id)
        self._refuse_if_busy(conversation_id)
        self.store.delete(conversation_id)

    def generating(self, conversation_id: str) -> bool:
        return conversation_id in self._active

    # -- answers ---------------------------------------------------------------------------
    async def send(self, conversation_id: str, content: str, options: AnswerOptions) -> Answer:
        """Append a user message and prepare the answer to it."""
        conversation = self.get(conversation_id)
        user = MessageRecord(role="user", content=content)
        history = [*conversation.messages, user]
        return await self._begin(conversation, history, len(history) - 1, options, user)

    async def regenerate(self, conversation_id: str, options: AnswerOptions) -> Answer:
        """Prepare a new answer to the last user message; the old answer is replaced when
        the new one is saved (an answer that fails to start leaves it in place)."""
        conversation = self.get(conversation_id)
        last_user = _last_user_index(conversation.messages)
        if last_user is None:
            raise InvalidRequest("The conversation has no user message to answer.")
        history = conversation.messages[: last_user + 1]
        return await self._begin(conversation, history, last_user + 1, options, None)

    async def edit(
        self, conversation_id: str, message_id: str, content: str, options: AnswerOptions
    ) -> Answer:
        """Replace an earlier user message, drop everything after it, and prepare the
        answer to the edited message."""
        conversation = self.get(conversation_id)
        index = next((i for i, m in enumerate(conversation.messages) if m.id == message_id), None)
        if index is None:
            raise NotFound(
                f"Message '{message_id}' is not in conversation '{conversation_id}'.",
                param="message_id",
                code="message_not_found",
            )
        if conversation.messages[index].role != "user":
            raise InvalidRequest("Only user messages can be edited.", param="message_id")
        user = MessageRecord(role="user", content=content)
        history = [*conversation.messages[:index], user]
        return await self._begin(conversation, history, index, options, user)

    def finish(self, answer: Answer, outcome: GenerationOutcome | None) -> MessageRecord | None:
        assert answer.job is not None
        """Save the answer as far as it got (``None``: it failed, save nothing) and allow
        the next one. Synchronous, so it also runs in a stream's ``finally`` on cancel."""
        try:
            if outcome is None:
                return None
            if not outcome.text and outcome.finish_reason in (None, "cancelled"):
                return None  # stopped before the first token: nothing to keep
            return self._save(answer, outcome)
        finally:
            self.release(answer)

    def start(self, answer: Answer) -> RunningAnswer:
        """Write the answer in its own task, independent of the request that asked for it."""
        running = RunningAnswer(answer.conversation_id, answer.user)
        self._answers[answer.conversation_id] = running
        task = asyncio.get_running_loop().create_task(
            self._write(answer, running), name=f"answer-{answer.conversation_id[:8]}"
        )
        # A task cancelled before its first step never runs its body: end it here instead.
        task.add_done_callback(lambda _: self._never_ran(answer, running))
        running.task = task
        return running

    def running(self, conversation_id: str) -> RunningAnswer | None:
        """The answer being written (or finished less than ``resume_s`` ago), if any."""
        self.get(conversation_id)
        return self._answers.get(conversation_id)

    async def cancel(self, conversation_id: str) -> bool:
        """Stop the answer being written and wait until it is saved; ``False`` when none was
        running. Its followers get the rest of its events and the stored message."""
        running = self.running(conversation_id)
        if running is None or running.finished or running.task is None:
            return False
        running.task.cancel()
        await asyncio.wait({running.task})
        return True

    async def shutdown(self) -> None:
        """Stop every answer being written and wait until each is saved."""
        tasks = {r.task for r in self._answers.values() if r.task and not r.finished}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _write(self, answer: Answer, running: RunningAnswer) -> None:
        if answer.agent is not None:
            await self._write_with_tools(answer, answer.agent, running)
            return
        assert answer.job is not None
        reading = Answering(self.generation, answer.job, parse=False)
        outcome: GenerationOutcome | None = reading.outcome
        error: AppError | None = None
        try:
            async with aclosing(reading.steps()) as steps:
                async for step in steps:
                    # Stored and sent from the same step, so the saved text is what was sent.
                    if step.text:
                        running.add_text(step.text)
        except asyncio.CancelledError:
            pass  # Stop (or a server shutdown): keep what was generated
        except AppError as exc:
            outcome, error = None, exc
        except Exception as exc:
            log.exception("answer in conversation %s failed", answer.conversation_id)
            outcome, error = None, GenerationFailed(f"{type(exc).__name__}: {exc}")
        saved = self.finish(answer, outcome)
        self._end(running, saved, error)

    async def _write_with_tools(
        self, answer: Answer, plan: AgentPlan, running: RunningAnswer
    ) -> None:
        assert self.agent is not None
        saving = ToolAnswer(answer.parameters)
        error: AppError | None = None
        try:
            async with aclosing(self.agent.run(plan.turn, plan.offered)) as items:
                async for item in items:
                    for kind, data in saving.add(item):
                        if kind == "token":
                            running.add_text(data)
                        else:
                            running.add_tool_event(kind, data)
        except asyncio.CancelledError:
            pass  # Stop (or a server shutdown): keep what was generated
        except AppError as exc:
            error = exc
        except Exception as exc:
            log.exception("answer in conversation %s failed", answer.conversation_id)
            error = GenerationFailed(f"{type(exc).__name__}: {exc}")
        saved: MessageRecord | None = None
        try:
            records = saving.records() if error is None else []
            if records and self.store.get(answer.conversation_id) is not None:
                self.store.replace_tail(answer.conversation_id, answer.position, records)
                saved = records[-1]
        finally:
            self.release(answer)
        self._end(running, saved, error)

    def _end(
        self, running: RunningAnswer, saved: MessageRecord | None, error: AppError | None
    ) -> None:
        if error is not None:
            running.end(AnswerEvent("error", None, error=error))
        elif saved is not None:
            running.end(AnswerEvent("done", None, message=saved))
        else:
            running.end(AnswerEvent("stopped", None))
        asyncio.get_running_loop().call_later(self.resume_s, self._forget, running)

    def _never_ran(self, answer: Answer, running: RunningAnswer) -> None:
        if running.finished:
            return
        if answer.job is not None and answer.job.ticket is not None:
            answer.job.ticket.release()
        self.release(answer)
        running.end(AnswerEvent("stopped", None))
        self._forget(running)

    def _forget(self, running: RunningAnswer) -> None:
        if self._answers.get(running.conversation_id) is running:
            del self._answers[running.conversation_id]

    def release(self, answer: Answer) -> None:
        """Allow the next answer (idempotent)."""
        if self._active.get(answer.conversation_id) is answer._token:
            del self._active[answer.conversation_id]

    async def _begin(
        self,
        conversation: ConversationRecord,
        history: list[MessageRecord],
        position: int,
        options: AnswerOptions,
        user: MessageRecord | None,
    ) -> Answer:
        self._refuse_if_busy(conversation.id)
        changes = {
            name: value
            for name in ("model", "backend", "system")
            if (value := getattr(options, name)) is not None
            and value != getattr(conversation, name)
        }
        model = options.model or conversation.model
        backend = options.backend or conversation.backend
        system = conversation.system if options.system is None else options.system
        messages = [_chat_message(m) for m in history if m.content or m.tool_calls]
        if system:
            messages.insert(0, ChatMessage("system", system))
        # Reserve before the first await, so two requests cannot both pass the check.
        token = object()
        self._active[conversation.id] = token
        job: PreparedGeneration | None = None
        plan: AgentPlan | None = None
        try:
            if options.mcp_servers is not None:
                plan = await self._plan(model, backend, messages, options)
            else:
                job = await self.generation.prepare(
                    model,
                    options.params,
                    messages=messages,
                    backend=backend,
                    allow_fallback=options.allow_fallback,
                )
        except BaseException:
            self._active.pop(conversation.id, None)
            raise
        if user is not None and position == 0 and conversation.title == DEFAULT_TITLE:
            changes["title"] = _title_from(user.content)
        if changes:
            self.store.update(conversation.id, **changes)
        if user is not None:
            # The user message is stored now, so a reload while the answer streams shows it.
            self.store.replace_tail(conversation.id, position, [user])
        if job is not None:
            parameters = {**options.parameters, "max_tokens": job.request.params.max_tokens}
        else:
            parameters = {**options.parameters, "mcp_servers": options.mcp_servers}
        return Answer(
            conversation.id, job, position + (user is not None), parameters, user, token, plan
        )

    async def _plan(
        self,
        model: str | None,
        backend: str | None,
        messages: list[ChatMessage],
        options: AnswerOptions,
    ) -> AgentPlan:
        """The agent turn of an answer with MCP tools; its servers are reached now, so one
        that cannot be is the request's error, not the stream's."""
        if self.agent is None:
            raise InvalidRequest("MCP tools are not available here.", param="mcp_servers")
        turn = AgentTurn(
            model=model,
            params=options.params,
            messages=messages,
            servers=options.mcp_servers,  # type: ignore[arg-type]  # validated by the schema
            tool_choice=options.tool_choice,
            max_steps=options.max_tool_steps,
            backend=backend,
            allow_fallback=options.allow_fallback,
        )
        offered = await self.agent.tools(turn)
        if not options.stream and any(o.approval == "ask" for o in offered):
            raise InvalidRequest(
                "A chosen MCP server asks for approval of each tool call; that needs "
                "stream=true (the approval request is an event of the stream).",
                param="stream",
            )
        return AgentPlan(turn, offered)

    def _save(self, answer: Answer, outcome: GenerationOutcome) -> MessageRecord:
        assert answer.job is not None
        usage, timings = outcome.usage(), outcome.timings()
        record = MessageRecord(
            role="assistant",
            content=outcome.text,
            model=answer.job.model.model_id,
            backend=timings.backend,
            parameters=answer.parameters,
            finish_reason=outcome.finish_reason or "cancelled",
            figures={
                "ttft_ms": timings.ttft_ms,
                "tokens_per_second": timings.tokens_per_second,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_ms": timings.total_ms,
            },
        )
        if self.store.get(answer.conversation_id) is not None:  # not deleted meanwhile
            self.store.replace_tail(answer.conversation_id, answer.position, [record])
        return record

    def _refuse_if_busy(self, conversation_id: str) -> None:
        if conversation_id in self._active:
            raise Conflict(
                f"Conversation '{conversation_id}' is generating an answer; stop it or wait "
                "for it to finish.",
                code="conversation_busy",
            )


def _chat_message(m: MessageRecord) -> ChatMessage:
    calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in m.tool_calls or ())
    return ChatMessage(m.role, m.content, calls, m.tool_call_id)


def _last_user_index(messages: list[MessageRecord]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            return i
    return None


def _title_from(content: str) -> str:
    line = " ".join(content.split())
    return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1].rstrip() + "…"
