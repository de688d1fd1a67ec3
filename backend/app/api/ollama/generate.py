"""``POST /api/chat`` and ``POST /api/generate``: Ollama's generation endpoints, NDJSON
streamed by default, served by the same GenerationService as every other API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request

from app.api import serving
from app.api.deps import GenerationDep, ModelManagerDep
from app.api.ollama.common import line, ndjson
from app.api.ollama.translate import (
    chat_messages,
    final_fields,
    model_id,
    now_rfc3339,
    ollama_calls,
    params_from,
    tool_use,
    wants_thinking,
)
from app.backends.types import ChatMessage, ToolCall
from app.core.errors import AppError, InvalidRequest
from app.schemas.generation import parse_duration
from app.schemas.ollama import OllamaChatRequest, OllamaGenerateRequest
from app.services.generation.answering import Answer, Step
from app.services.models.manager import ModelManager
from app.services.tools.output import Content, Piece, Reasoning

router = APIRouter(tags=["ollama"])

Render = Callable[[str], dict]


def _refuse_unsupported(**fields: object) -> None:
    for name, value in fields.items():
        if value:
            raise InvalidRequest(f"'{name}' is not supported by this server.", param=name)


async def _load_or_unload(
    manager: ModelManager, name: str, keep_alive: float | str | None, render: Render
) -> dict:
    """An empty request loads the model (or unloads it with keep_alive 0), as in Ollama."""
    mid = model_id(name)
    if keep_alive == 0:
        if manager.get_loaded(mid) is not None:
            await manager.unload(mid)
        return {**render(""), "done": True, "done_reason": "unload"}
    loaded, _ = await manager.get(mid, reserve=False)  # no generation follows
    manager.set_keep_alive(loaded, parse_duration(keep_alive))
    return {**render(""), "done": True, "done_reason": "load"}


@dataclass
class _Lines:
    """The codec of Ollama's NDJSON streams: a chunk per step with text, then the final object
    with the statistics; an error is one ``{"error": ...}`` line. ``/api/generate`` renders
    the raw text (``render``); ``/api/chat`` (``render`` None) reads the text through the
    parser: content and thinking per step, the calls whole in a closing chunk of their own."""

    model: str
    render: Render | None = None

    def __post_init__(self) -> None:
        self.parses = self.render is None
        self.tail: list[Piece] = []  # what the parser held back to the end

    def start(self) -> list[str]:
        return []

    def feed(self, step: Step) -> list[str]:
        if self.render is not None:
            return [line({**self.render(step.text), "done": False})] if step.text else []
        if step.event is None:
            self.tail = step.pieces
            return []
        return _chunk(self.model, step.pieces)

    async def end(self, answer: Answer) -> list[str]:
        final = final_fields(answer.outcome)
        if self.render is not None:
            return [line({**self.render(""), **final})]
        # Ollama sends each call whole, in a chunk of its own.
        closing = _chunk(self.model, self.tail, answer.calls)
        return [*closing, line({**_chat_line(self.model, "", "", []), **final})]

    def error(self, exc: AppError, answer: Answer) -> list[str]:
        return [line({"error": exc.message})]


def _chunk(model: str, pieces: list[Piece], calls: list[ToolCall] | None = None) -> list[str]:
    content, thinking = _text_of(pieces, Content), _text_of(pieces, Reasoning)
    if not (content or thinking or calls):
        return []
    return [line({**_chat_line(model, content, thinking, calls or []), "done": False})]


def _text_of(pieces: list[Piece], kind: type[Content] | type[Reasoning]) -> str:
    return "".join(p.text for p in pieces if isinstance(p, kind))


@router.post("/chat")
async def chat(
    body: OllamaChatRequest, generation: GenerationDep, manager: ModelManagerDep, request: Request
):
    """Chat with a model (Ollama's API): NDJSON chunks, the last one with statistics; tool
    calls in ``message.tool_calls``, reasoning in ``message.thinking`` with ``think``."""
    _refuse_unsupported(images=any(m.images for m in body.messages))

    def render(text: str) -> dict:
        return {
            "model": body.model,
            "created_at": now_rfc3339(),
            "message": {"role": "assistant", "content": text},
        }

    if not body.messages:
        return await _load_or_unload(manager, body.model, body.keep_alive, render)
    params = params_from(body.options, body.format)
    params.json_schema_param = "format"
    job = await generation.prepare(
        model_id(body.model),
        params,
        messages=chat_messages(body.messages),
        tools=tool_use(body),
        keep_alive=body.keep_alive,
    )
    if not wants_thinking(body.think):  # Ollama then leaves the text as it is
        job.output.reasoning = job.output.in_reasoning = False
    if not body.stream:
        answer = await serving.complete(generation, job, request.is_disconnected)
        return {
            **_chat_line(body.model, answer.content or "", answer.reasoning or "", answer.calls),
            **final_fields(answer.outcome),
        }
    return ndjson(serving.stream(generation, job, _Lines(body.model)))


def _chat_line(model: str, content: str, thinking: str, calls: list) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if thinking:
        message["thinking"] = thinking
    if calls:
        message["tool_calls"] = ollama_calls(calls)
    return {"model": model, "created_at": now_rfc3339(), "message": message}


@router.post("/generate")
async def generate(
    body: OllamaGenerateRequest,
    generation: GenerationDep,
    manager: ModelManagerDep,
    request: Request,
):
    """Complete a prompt (Ollama's API); the model's template is applied unless raw."""
    _refuse_unsupported(
        suffix=body.suffix, template=body.template, context=body.context, images=body.images
    )

    def render(text: str) -> dict:
        return {"model": body.model, "created_at": now_rfc3339(), "response": text}

    if not body.prompt:
        return await _load_or_unload(manager, body.model, body.keep_alive, render)
    params = params_from(body.options, body.format)
    params.json_schema_param = "format"
    if body.raw:
        job = await generation.prepare(
            model_id(body.model), params, prompt=body.prompt, keep_alive=body.keep_alive
        )
    else:
        messages = [ChatMessage("user", body.prompt)]
        if body.system:
            messages.insert(0, ChatMessage("system", body.system))
        job = await generation.prepare(
            model_id(body.model), params, messages=messages, keep_alive=body.keep_alive
        )
    if not body.stream:
        answer = await serving.complete(generation, job, request.is_disconnected, parse=False)
        return {**render(answer.outcome.text), **final_fields(answer.outcome)}
    return ndjson(serving.stream(generation, job, _Lines(body.model, render)))
