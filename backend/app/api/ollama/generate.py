"""``POST /api/chat`` and ``POST /api/generate``: Ollama's generation endpoints, NDJSON
streamed by default, served by the same GenerationService as every other API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Request

from app.api.deps import GenerationDep, ModelManagerDep
from app.api.ollama.common import line, ndjson
from app.backends.types import ChatMessage, TokenEvent
from app.core.errors import AppError, InvalidRequest
from app.schemas.generation import parse_duration
from app.schemas.ollama import OllamaChatRequest, OllamaGenerateRequest
from app.services import ollama_tools
from app.services.generation import GenerationOutcome, GenerationService, PreparedGeneration
from app.services.models.manager import ModelManager
from app.services.ollama_compat import final_fields, model_id, now_rfc3339, params_from
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


class _Lines:
    """How one Ollama endpoint renders a stream: a chunk per event, the chunks that close the
    answer, and the final object with the statistics."""

    def __init__(self, job: PreparedGeneration, model: str, render: Render | None) -> None:
        self.render = render
        self.model = model
        self.parser = job.output.parser() if render is None else None

    def chunk(self, event: TokenEvent) -> dict | None:
        if self.parser is None:
            assert self.render is not None
            return {**self.render(event.text), "done": False} if event.text else None
        return self._chat_chunk(self.parser.feed_event(event))

    def closing(self) -> dict | None:
        if self.parser is None:
            return None
        pieces = self.parser.finish()
        # Ollama sends each call whole, in a chunk of its own.
        return self._chat_chunk(pieces, self.parser.calls)

    def final(self, outcome: GenerationOutcome) -> dict:
        if self.render is not None:
            return {**self.render(""), **final_fields(outcome)}
        return {**_chat_line(self.model, "", "", []), **final_fields(outcome)}

    def _chat_chunk(self, pieces: list[Piece], calls: list | None = None) -> dict | None:
        content, thinking = _text_of(pieces, Content), _text_of(pieces, Reasoning)
        if not (content or thinking or calls):
            return None
        return {**_chat_line(self.model, content, thinking, calls or []), "done": False}


def _text_of(pieces: list[Piece], kind: type[Content] | type[Reasoning]) -> str:
    return "".join(p.text for p in pieces if isinstance(p, kind))


async def _ndjson_lines(
    generation: GenerationService, job: PreparedGeneration, lines: _Lines
) -> AsyncIterator[str]:
    """The NDJSON stream of either endpoint. A client that leaves cancels this generator
    (Starlette), which stops the engine: no disconnect polling here."""
    outcome = GenerationOutcome(job)
    events = generation.stream(job)
    try:
        async for event in events:
            outcome.add(event)
            if (chunk := lines.chunk(event)) is not None:
                yield line(chunk)
    except AppError as exc:
        yield line({"error": exc.message})
        return
    finally:
        await events.aclose()
    if (closing := lines.closing()) is not None:
        yield line(closing)
    yield line(lines.final(outcome))


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
        messages=ollama_tools.chat_messages(body.messages),
        tools=ollama_tools.tool_use(body),
        keep_alive=body.keep_alive,
    )
    if not ollama_tools.wants_thinking(body.think):  # Ollama then leaves the text as it is
        job.output.reasoning = job.output.in_reasoning = False
    if not body.stream:
        outcome = await generation.run(job, request.is_disconnected)
        parser = job.output.parser()
        for event in outcome.events:
            parser.feed_event(event)
        parser.finish()
        return {
            **_chat_line(body.model, parser.content or "", parser.reasoning or "", parser.calls),
            **final_fields(outcome),
        }
    return ndjson(_ndjson_lines(generation, job, _Lines(job, body.model, None)))


def _chat_line(model: str, content: str, thinking: str, calls: list) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if thinking:
        message["thinking"] = thinking
    if calls:
        message["tool_calls"] = ollama_tools.ollama_calls(calls)
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
        outcome = await generation.run(job, request.is_disconnected)
        return {**render(outcome.text), **final_fields(outcome)}
    return ndjson(_ndjson_lines(generation, job, _Lines(job, body.model, render)))
