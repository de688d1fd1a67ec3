"""The one generation path behind every API: validate against the model, run the engine in a
worker thread, bridge its tokens to the event loop, cancel it when the client goes away, and
account usage and timings.

Native, OpenAI and later RAG/compare endpoints all call :meth:`GenerationService.prepare` then
:meth:`GenerationService.stream` (or :meth:`GenerationService.run`) and only differ in how they
render the events.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
import uuid
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from app.backends.base import (
    ChatEnding,
    ChatMessage,
    Constraint,
    FinishReason,
    GenerationRequest,
    SamplingParams,
    TokenEvent,
    TokenLogprob,
    ToolUse,
)
from app.backends.generation_defaults import SamplingDefaults
from app.backends.types import Speculation
from app.core.config import Settings
from app.core.errors import (
    AppError,
    ContextLengthExceeded,
    GenerationFailed,
    InvalidRequest,
)
from app.core.request_context import current_identity
from app.schemas.common import (
    CompletionTokensDetails,
    PromptTokensDetails,
    SpeculationOptions,
    Timings,
    Usage,
)
from app.schemas.generation import parse_duration
from app.services import metrics
from app.services.generation.capabilities import check_request
from app.services.generation.limits import Admission, Ticket
from app.services.models.manager import LoadedModel, ModelManager
from app.services.tools.output import OutputPlan
from app.services.tools.planning import opens_reasoning, plan_tools
from app.services.tools.schema_check import constraint_for
from app.services.tools.validation import check_history, check_tools

log = logging.getLogger(__name__)

_END = object()


@dataclass
class ParamsInput:
    """Sampling parameters as a client gave them; None where it gave none (max_tokens, and the
    sampling knobs, which then come from the model's defaults or the server's)."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    logprobs: int | None = None
    json_schema: str | None = None  # JSON text of a schema for constrained output
    json_schema_param: str = "response_format"  # the request field it came from (errors)
    speculation: SpeculationOptions | None = None  # None: the server's settings
    prediction: str | None = None  # OpenAI's predicted output (a draft source)

    # The knobs every dialect names and means alike (OpenAI, Anthropic, Responses, native, RAG,
    # Ollama's options): copied by name. stop, logprobs and json_schema differ in shape from one
    # dialect to the next, so each translation passes them itself.
    SHARED_KNOBS: ClassVar[tuple[str, ...]] = (
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "repetition_penalty",
        "seed",
        "speculation",
    )

    @classmethod
    def from_request(cls, request: object, **overrides: Any) -> ParamsInput:
        """The one translation of a request's sampling fields: each of :attr:`SHARED_KNOBS` the
        request model has (None where it has no such field), then ``overrides`` for what that
        dialect names or shapes differently. An override wins even when it is None (RAG's
        ``top_k`` is a retrieval depth: it passes ``top_k=body.sampling_top_k``)."""
        values: dict[str, Any] = {name: getattr(request, name, None) for name in cls.SHARED_KNOBS}
        values.update(overrides)
        if values.get("stop") is None:
            values["stop"] = []
        return cls(**values)

    def sampling(
        self,
        max_tokens: int,
        model: SamplingDefaults | None = None,
        settings: Settings | None = None,
        constraint: Constraint | None = None,
    ) -> SamplingParams:
        """The engine's parameters, with ``max_tokens`` settled against the context and each
        missing knob taken from the model's defaults, then the server's."""
        model = model or SamplingDefaults()

        def pick(given: Any, from_model: Any, server: Any) -> Any:
            return given if given is not None else from_model if from_model is not None else server

        return SamplingParams(
            max_tokens=max_tokens,
            temperature=pick(
                self.temperature,
                model.temperature,
                settings.default_temperature if settings else 1.0,
            ),
            top_p=pick(self.top_p, model.top_p, settings.default_top_p if settings else 1.0),
            top_k=pick(self.top_k, model.top_k, 0),
            repetition_penalty=pick(self.repetition_penalty, model.repetition_penalty, 1.0),
            seed=self.seed,
            stop=tuple(self.stop),
            logprobs=self.logprobs,
            constraint=constraint,
        )

    def speculation_for(self, settings: Settings, prediction: list[int]) -> Speculation:
        """The request's speculative decoding: its own fields, else the server's settings;
        ``prediction`` is the tokenized predicted output."""
        given = self.speculation or SpeculationOptions()
        return Speculation(
            mode=given.mode or settings.speculation,
            max_draft=(
                given.max_draft if given.max_draft is not None else settings.speculation_max_draft
            ),
            ngram_max=settings.speculation_ngram_max,
            ngram_min=min(settings.speculation_ngram_min, settings.speculation_ngram_max),
            min_acceptance=settings.speculation_min_acceptance,
            prediction=tuple(prediction),
        )

    def constraint(self) -> Constraint | None:
        """The checked constraint of ``json_schema`` (400 naming a keyword no engine enforces)."""
        if self.json_schema is None:
            return None
        return constraint_for(json.loads(self.json_schema), self.json_schema_param)


@dataclass
class PreparedGeneration:
    """A validated request bound to a loaded model, ready to run."""

    request_id: str
    model: LoadedModel
    request: GenerationRequest
    prompt_text: str
    received_at: float
    load_seconds: float
    # Admission ticket (queue caps); released when the stream ends or the job is dropped.
    ticket: Ticket | None = None
    # How to read the output: reasoning, tool calls (services/tools/output.py).
    output: OutputPlan = field(default_factory=lambda: OutputPlan(reasoning=False))

    @property
    def prompt_tokens(self) -> int:
        return len(self.request.prompt_token_ids)


@dataclass
class GenerationOutcome:
    """What a generation produced so far; complete once ``finish_reason`` is set."""

    job: PreparedGeneration
    text_parts: list[str] = field(default_factory=list)
    completion_tokens: int = 0
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: FinishReason | None = None
    first_token_at: float | None = None
    last_token_at: float | None = None
    remote_prompt_tokens: int | None = None
    cached_tokens: int = 0  # prompt tokens the engine reused from its prefix cache
    # Speculative decoding: draft tokens verified and accepted, all and from the prediction.
    draft_tokens: int = 0
    accepted_tokens: int = 0
    prediction_drafted: int = 0
    prediction_accepted: int = 0
    # Every event, for readers that parse the whole output (tool calls, reasoning).
    events: list[TokenEvent] = field(default_factory=list)

    def add(self, event: TokenEvent) -> None:
        self.events.append(event)
        now = time.perf_counter()
        if event.token_ids or event.remote_token:
            self.completion_tokens += len(event.token_ids) or 1
            if self.first_token_at is None:
                self.first_token_at = now
            self.last_token_at = now
        self.text_parts.append(event.text)
        self.logprobs.extend(event.logprobs)
        if event.finish_reason:
            self.finish_reason = event.finish_reason
        if event.cached_tokens is not None:
            self.cached_tokens = event.cached_tokens
        self.draft_tokens += event.drafted
        self.accepted_tokens += event.accepted_draft
        if event.draft_source == "prediction":
            self.prediction_drafted += event.drafted
            self.prediction_accepted += event.accepted_draft
        if event.usage is not None:  # counted by a remote engine: its figures win
            self.remote_prompt_tokens, self.completion_tokens = event.usage

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def usage(self) -> Usage:
        prompt = self.job.prompt_tokens
        if self.remote_prompt_tokens is not None:
            prompt = self.remote_prompt_tokens
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=self.completion_tokens,
            total_tokens=prompt + self.completion_tokens,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=self.cached_tokens),
            completion_tokens_details=CompletionTokensDetails(
                accepted_prediction_tokens=self.prediction_accepted,
                rejected_prediction_tokens=self.prediction_drafted - self.prediction_accepted,
            ),
        )

    def timings(self) -> Timings:
        start = self.job.received_at
        end = self.last_token_at or time.perf_counter()
        ttft = None if self.first_token_at is None else (self.first_token_at - start) * 1000
        rate = None
        if self.first_token_at is not None and self.completion_tokens > 1:
            decode_s = end - self.first_token_at
            rate = (self.completion_tokens - 1) / decode_s if decode_s > 0 else None
        return Timings(
            ttft_ms=ttft,
            tokens_per_second=rate,
            total_ms=(end - start) * 1000,
            load_ms=self.job.load_seconds * 1000,
            cached_tokens=self.cached_tokens,
            draft_tokens=self.draft_tokens,
            accepted_tokens=self.accepted_tokens,
            acceptance_rate=(
                self.accepted_tokens / self.draft_tokens if self.draft_tokens else None
            ),
            backend=self.job.model.backend_name,
            backend_reason=self.job.model.backend_reason,
        )


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class GenerationService:
    """Prepares and runs generations on models held by the :class:`ModelManager`."""

    def __init__(self, settings: Settings, manager: ModelManager) -> None:
        self.settings = settings
        self.manager = manager
        self.admission = Admission(settings)
        self._cancels: set[threading.Event] = set()
        # Templating and tokenizing run in their own small pool, not the default executor:
        # a burst of long prompts then waits for these threads only, while model loads, file
        # reads and the other requests' to_thread work keep theirs.
        self._text_pool = ThreadPoolExecutor(
            max_workers=settings.tokenize_threads, thread_name_prefix="tokenize"
        )

    async def prepare(
        self, model_id: str | None, params: ParamsInput, **options
    ) -> PreparedGeneration:
        """Admit the request (queue caps: 429 when full, never a wait), then prepare it (see
        :meth:`_prepare` for ``options``). The admission lasts until the stream ends."""
        model_id = model_id or await self.manager.default_model_id_async()
        if model_id:
            # An unknown model is a 404 before admission, so it never gets a metric label.
            await asyncio.to_thread(self.manager.store.resolve, model_id)
        ticket = await self.admission.acquire(model_id or "", current_identity())
        try:
            job = await self._prepare(model_id, params, **options)
        except BaseException:
            ticket.release()
            raise
        job.ticket = ticket
        # A job that is never streamed (client gone before the response started) must not
        # hold its place forever.
        weakref.finalize(job, ticket.release)
        return job

    def shutdown(self) -> None:
        """Cancel every running generation (server stopping); engines stop within a step."""
        for cancel in list(self._cancels):
            cancel.set()
        self._text_pool.shutdown(wait=False, cancel_futures=True)

    async def _prepare(
        self,
        model_id: str | None,
        params: ParamsInput,
        *,
        prompt: str | None = None,
        messages: list[ChatMessage] | None = None,
        backend: str | None = None,
        allow_fallback: bool = False,
        keep_alive: float | str | None = None,
        tools: ToolUse | None = None,
        chat_ending: ChatEnding = "new_turn",
    ) -> PreparedGeneration:
        """Load the model if needed, render and tokenize the prompt, and check it fits.

        ``allow_fallback``: when the named ``backend`` is not installed or cannot load the
        model, serve it on the next backend for its format instead of failing (503).
        ``keep_alive``: the request's keep-alive (seconds or a duration; None: unchanged).
        ``chat_ending``: whether the chat prompt opens a new assistant turn or continues the
        final message (assistant prefill)."""
        received_at = time.perf_counter()
        if params.max_tokens is not None and params.max_tokens > self.settings.max_new_tokens_cap:
            raise InvalidRequest(
                f"max_tokens is {params.max_tokens}, over this server's cap of "
                f"{self.settings.max_new_tokens_cap}.",
                param="max_tokens",
            )
        if not model_id:
            raise InvalidRequest(
                "No model given and no local model found. Download one or run "
                "`playground make-test-models`.",
                param="model",
            )
        if tools is not None:
            check_tools(tools)
        if messages is not None:
            check_history(messages)
        constraint = params.constraint()
        loaded, load_seconds = await self.manager.get(model_id, backend, allow_fallback)
        try:
            self.manager.set_keep_alive(loaded, parse_duration(keep_alive))
            engine = loaded.backend
            # Every capability is checked in one place, for local and remote engines alike.
            check_request(
                engine.capabilities,
                loaded.backend_name,
                params.sampling(1, constraint=constraint),
                tools,
            )
            if not engine.capabilities.local_tokenizer:
                return self._prepare_remote(
                    loaded,
                    load_seconds,
                    params,
                    prompt,
                    messages,
                    received_at,
                    constraint,
                    tools,
                    chat_ending,
                )
            self._check_chars(prompt, messages, engine.context_length)
            loop = asyncio.get_running_loop()
            output = OutputPlan(reasoning=False)
            if messages is not None:
                plan = plan_tools(engine.chat_template_text(), messages, tools)
                prompt_text = await loop.run_in_executor(
                    self._text_pool,
                    functools.partial(
                        engine.render_chat, plan.messages, plan.tools, ending=chat_ending
                    ),
                )
                prompt_text += plan.prompt_suffix
                output = plan.output
                output.in_reasoning = output.reasoning and opens_reasoning(prompt_text)
                constraint = plan.constraint or constraint
                # The template already wrote any BOS/special tokens the model expects.
                with_specials = False
            else:
                prompt_text = prompt or ""
                with_specials = True
            token_ids = await loop.run_in_executor(
                self._text_pool,
                functools.partial(engine.tokenize, prompt_text, add_special_tokens=with_specials),
            )
            if not token_ids:
                raise InvalidRequest("The prompt is empty.", param="prompt")
            prediction: list[int] = []
            if params.prediction:
                prediction = await loop.run_in_executor(
                    self._text_pool,
                    functools.partial(engine.tokenize, params.prediction, add_special_tokens=False),
                )
            max_tokens = self._budget(len(token_ids), params.max_tokens, engine.context_length)
            sampling = params.sampling(
                max_tokens, engine.generation_defaults(), self.settings, constraint
            )
            request_id = uuid.uuid4().hex
            request = GenerationRequest(
                request_id,
                token_ids,
                sampling,
                prompt_text=prompt_text,
                messages=messages,
                speculation=params.speculation_for(self.settings, prediction),
            )
            engine.admit(request)
            return PreparedGeneration(
                request_id=request_id,
                model=loaded,
                request=request,
                prompt_text=prompt_text,
                received_at=received_at,
                load_seconds=load_seconds,
                output=output,
            )
        except BaseException:
            # Refused before it reached the engine: the model is not busy on its behalf.
            loaded.unreserve()
            raise

    def _prepare_remote(
        self,
        loaded: LoadedModel,
        load_seconds: float,
        params: ParamsInput,
        prompt: str | None,
        messages: list[ChatMessage] | None,
        received_at: float,
        constraint: Constraint | None = None,
        tools: ToolUse | None = None,
        chat_ending: ChatEnding = "new_turn",
    ) -> PreparedGeneration:
        """A request for an engine behind HTTP: it applies the template, counts tokens and
        parses tool calls itself, so we check only what we can (the context check happens
        over there)."""
        if messages is None and not prompt:
            raise InvalidRequest("The prompt is empty.", param="prompt")
        max_tokens = params.max_tokens or self.settings.default_max_new_tokens
        sampling = params.sampling(
            max_tokens, loaded.backend.generation_defaults(), self.settings, constraint
        )
        request_id = uuid.uuid4().hex
        request = GenerationRequest(
            request_id,
            [],
            sampling,
            prompt_text=prompt or "",
            messages=messages,
            tools=tools,
            chat_ending=chat_ending,
        )
        loaded.backend.admit(request)
        return PreparedGeneration(
            request_id=request_id,
            model=loaded,
            request=request,
            prompt_text=prompt or "",
            received_at=received_at,
            load_seconds=load_seconds,
        )

    def prompt_char_limit(self, context: int) -> int:
        """Most characters a prompt may hold for a model with ``context`` tokens."""
        return max(context, 1) * self.settings.prompt_chars_per_token

    def _check_chars(
        self, prompt: str | None, messages: list[ChatMessage] | None, context: int
    ) -> None:
        """Refuse a prompt that cannot fit before any tokenizing: counting characters costs
        nothing, while tokenizing megabytes holds a thread for seconds."""
        chars = len(prompt or "") + sum(len(m.content) for m in messages or [])
        limit = self.prompt_char_limit(context)
        if chars > limit:
            raise ContextLengthExceeded(
                f"This model's maximum context length is {context} tokens; the prompt has "
                f"{chars} characters, more than the {limit} such a context can take "
                f"(MP_PROMPT_CHARS_PER_TOKEN="
                f"{self.settings.prompt_chars_per_token} per token). Shorten the prompt.",
                param="messages" if messages is not None else "prompt",
            )

    def _budget(self, prompt_tokens: int, max_tokens: int | None, context: int) -> int:
        if prompt_tokens >= context:
            raise ContextLengthExceeded(
                f"This model's maximum context length is {context} tokens, but the prompt has "
                f"{prompt_tokens} tokens. Shorten the prompt or the conversation.",
                param="messages",
            )
        room = context - prompt_tokens
        if max_tokens is None:
            return min(self.settings.default_max_new_tokens, room)
        if max_tokens > room:
            raise ContextLengthExceeded(
                f"This model's maximum context length is {context} tokens, but you requested "
                f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the prompt, "
                f"{max_tokens} for the completion). Lower max_tokens to at most {room}.",
                param="max_tokens",
            )
        return max_tokens

    async def stream(self, job: PreparedGeneration) -> AsyncGenerator[TokenEvent, None]:
        """Engine events as they come. Closing the iterator (client gone, task cancelled)
        cancels the engine, which stops within one decode step."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancel = threading.Event()
        engine = job.model.backend

        def post(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # loop closed during shutdown: nobody is listening
                cancel.set()

        def work() -> None:
            try:
                for event in engine.stream(job.request, cancel):
                    post(event)
            except BaseException as exc:  # handed to the consumer, which maps it
                post(_Failure(exc))
            finally:
                post(_END)

        worker = threading.Thread(target=work, name=f"generate-{job.request_id[:8]}", daemon=True)
        self._cancels.add(cancel)
        worker.start()
        model, backend = job.model.model_id, job.model.backend_name
        last_token_at: float | None = None
        finish: str = "cancelled"
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    finish = "error"
                    raise _as_app_error(item.exc, job)
                assert isinstance(item, TokenEvent)
                if item.token_ids or item.remote_token:
                    now = time.perf_counter()
                    if last_token_at is None:
                        metrics.observe_first_token(model, backend, now - job.received_at)
                    else:
                        metrics.observe_inter_token(model, backend, now - last_token_at)
                    last_token_at = now
                    metrics.TOKENS_GENERATED.labels(model, backend).inc(len(item.token_ids) or 1)
                if item.finish_reason:
                    finish = item.finish_reason
                yield item
        finally:
            cancel.set()
            self._cancels.discard(cancel)
            if job.ticket is not None:
                job.ticket.release()
            metrics.GENERATIONS.labels(model, backend, finish).inc()
            job.model.touch()

    async def run(
        self,
        job: PreparedGeneration,
        is_disconnected: Callable[[], Awaitable[bool]] | None = None,
    ) -> GenerationOutcome:
        """Generate to the end; stops early (finish_reason 'cancelled') if the client leaves."""
        outcome = GenerationOutcome(job)
        events = self.stream(job)
        last_check = time.perf_counter()
        try:
            async for event in events:
                outcome.add(event)
                if is_disconnected and time.perf_counter() - last_check > 0.25:
                    last_check = time.perf_counter()
                    if await is_disconnected():
                        outcome.finish_reason = "cancelled"
                        break
        finally:
            await events.aclose()
        return outcome


def _as_app_error(exc: BaseException, job: PreparedGeneration) -> AppError:
    if isinstance(exc, AppError):
        return exc
    log.error("generation %s failed", job.request_id, exc_info=exc)
    return GenerationFailed(
        f"Generation failed on {job.model.backend_name} for '{job.model.model_id}': "
        f"{type(exc).__name__}: {exc}"
    )
