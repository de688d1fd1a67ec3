"""Ollama backend: models of an Ollama server (``MP_OLLAMA_HOST``) through the official
``ollama`` client, named ``ollama:NAME``.

Ollama applies the chat template and counts tokens; we pass our sampling parameters as its
options, keep the model loaded there for ``MP_OLLAMA_KEEP_ALIVE`` after each request, and ask
it to unload (keep_alive 0) when we unload. Pulls stream Ollama's progress events.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx

from app.backends.base import (
    Backend,
    Capabilities,
    ChatMessage,
    FinishReason,
    GenerationRequest,
    SamplingParams,
    TokenEvent,
    ToolCallDelta,
)
from app.core.errors import (
    AppError,
    BackendUnavailable,
    GenerationFailed,
    InvalidRequest,
    ModelNotFound,
)
from app.core.resilience import CircuitBreaker, breaker_for, call_remote_sync


def ollama_error(exc: Exception, model_id: str, host: str) -> AppError:
    """Our typed error for what the Ollama client raised."""
    import ollama

    if isinstance(exc, ollama.ResponseError):
        if exc.status_code == 404:
            return ModelNotFound(model_id)
        if 400 <= exc.status_code < 500:
            return InvalidRequest(f"Ollama refused the request: {exc.error}")
        return GenerationFailed(f"Ollama failed (HTTP {exc.status_code}): {exc.error}")
    if isinstance(exc, httpx.TransportError | ConnectionError):
        return BackendUnavailable(f"No Ollama server answers at {host} (MP_OLLAMA_HOST): {exc}")
    return GenerationFailed(f"Ollama request failed: {type(exc).__name__}: {exc}")


def ollama_options(params: SamplingParams) -> dict[str, Any]:
    return {
        "num_predict": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k,
        "repeat_penalty": params.repetition_penalty,
        **params.seed_and_stop(),
    }


class OllamaBackend(Backend):
    """One model of an Ollama server."""

    name: ClassVar[str] = "ollama"
    extra: ClassVar[str] = "requirements-cpu.txt"
    capabilities: ClassVar[Capabilities] = Capabilities(
        local_tokenizer=False, embeddings=True, json_schema=True, tools=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Any = None
        self._model_name = str(self.source.extra.get("name", ""))
        self._context = 0
        self._details: dict[str, Any] = {}

    def _breaker(self) -> CircuitBreaker:
        return breaker_for(
            f"ollama {self.settings.ollama_host}",
            failure_threshold=self.settings.remote_breaker_failures,
            reset_after_s=self.settings.remote_breaker_reset_s,
        )

    def _call(self, fn: Any, *args: Any, lazy: bool = False, **kwargs: Any) -> Any:
        """Call the Ollama client through the server's circuit breaker (fails fast while it is
        down). ``lazy``: the call returns a stream that connects when iterated, so its outcome
        is recorded by :meth:`_events`."""
        breaker = self._breaker()
        if lazy:  # nothing is sent until iterated: no retry here
            breaker.before_call()
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                breaker.record_outcome(exc)
                raise ollama_error(exc, self.source.model_id, self.settings.ollama_host) from exc
        try:
            # The shared policy: transient errors (connection, timeouts, 408/429/502/503/504)
            # are retried with backoff (MP_REMOTE_RETRIES attempts in all), through the breaker.
            return call_remote_sync(
                breaker, lambda: fn(*args, **kwargs), attempts=self.settings.remote_retries
            )
        except AppError:
            raise
        except Exception as exc:
            raise ollama_error(exc, self.source.model_id, self.settings.ollama_host) from exc

    def load(self) -> None:
        import ollama

        self._client = ollama.Client(host=self.settings.ollama_host)
        info = self._call(self._client.show, self._model_name)
        model_info = dict(info.modelinfo or {})
        for key, value in model_info.items():
            if key.endswith(".context_length") and isinstance(value, int):
                self._context = value
        if info.details is not None:
            self._details = info.details.model_dump(exclude_none=True)
        # Warm the model over there, as `ollama run` does: an empty generate loads it.
        self._call(
            self._client.generate,
            model=self._model_name,
            prompt="",
            keep_alive=self.settings.ollama_keep_alive,
        )

    def unload(self) -> None:
        if self._client is None:
            return
        # The server may be gone already; then there is nothing to free over there.
        with contextlib.suppress(Exception):
            self._client.generate(model=self._model_name, prompt="", keep_alive=0)
        self._client = None

    def health(self) -> dict[str, Any]:
        return {"host": self.settings.ollama_host, "model": self._model_name, **self._details}

    @property
    def context_length(self) -> int:
        return self._context

    @property
    def device(self) -> str:
        return "ollama"

    @property
    def dtype(self) -> str:
        return str(self._details.get("quantization_level", "unknown"))

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        raise InvalidRequest("The ollama backend has no local tokenizer.", param="model")

    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        params = request.params
        fmt = json.loads(params.constraint.json_schema) if params.constraint is not None else None
        common = {
            "model": self._model_name,
            "stream": True,
            "options": ollama_options(params),
            "keep_alive": self.settings.ollama_keep_alive,
            "format": fmt,
        }
        self.stats.started()
        chunks: Any = None
        try:
            if request.messages is not None:
                messages = [_ollama_message(m) for m in request.messages]
                tools = _ollama_tools(request)
                chunks = self._call(
                    self._client.chat, messages=messages, tools=tools, lazy=True, **common
                )
            else:
                # A raw prompt: completion mode, no template (Ollama's raw=true).
                chunks = self._call(
                    self._client.generate, prompt=request.prompt_text, raw=True, lazy=True, **common
                )
            yield from self._events(chunks, cancel)
        finally:
            if chunks is not None and hasattr(chunks, "close"):
                chunks.close()  # drops the HTTP stream: Ollama stops generating
            self.stats.finished()

    def _events(self, chunks: Any, cancel: threading.Event) -> Iterator[TokenEvent]:
        breaker = self._breaker()
        answered = False
        calls_seen = 0
        try:
            for chunk in chunks:
                if not answered:
                    answered = True
                    breaker.record_success()
                if cancel.is_set():
                    yield TokenEvent("", finish_reason="cancelled")
                    return
                message = getattr(chunk, "message", None)
                text = (message.content if message is not None else chunk.response) or ""
                thinking = (getattr(message, "thinking", None) or "") if message else ""
                calls = _call_deltas(message, calls_seen)
                calls_seen += len(calls) // 2
                if text or thinking or calls:
                    self.stats.add_tokens()
                    yield TokenEvent(text, remote_token=True, reasoning=thinking, tool_calls=calls)
                if chunk.done:
                    usage = (int(chunk.prompt_eval_count or 0), int(chunk.eval_count or 0))
                    reason: FinishReason = "length" if chunk.done_reason == "length" else "stop"
                    yield TokenEvent("", finish_reason=reason, usage=usage)
                    return
        except AppError:
            raise
        except Exception as exc:
            if not answered:
                breaker.record_outcome(exc)
            raise ollama_error(exc, self.source.model_id, self.settings.ollama_host) from exc
        yield TokenEvent("", finish_reason="stop")

    def embed(self, texts: list[str]) -> list[list[float]]:
        result = self._call(
            self._client.embed,
            model=self._model_name,
            input=texts,
            keep_alive=self.settings.ollama_keep_alive,
        )
        return [list(map(float, v)) for v in result.embeddings]


def _ollama_message(m: ChatMessage) -> dict[str, Any]:
    item: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        item["tool_calls"] = [
            {"function": {"name": c.name, "arguments": json.loads(c.arguments or "{}")}}
            for c in m.tool_calls
        ]
    return item


def _ollama_tools(request: GenerationRequest) -> list[dict[str, Any]] | None:
    """Ollama has no tool_choice: tools go as they are ('none' sends none)."""
    use = request.tools
    if use is None or use.choice == "none":
        return None
    return [t.as_openai() for t in use.tools]


def _call_deltas(message: Any, first_index: int) -> list[ToolCallDelta]:
    """Ollama sends whole calls; each becomes a name delta and one arguments delta."""
    out: list[ToolCallDelta] = []
    for i, call in enumerate(getattr(message, "tool_calls", None) or []):
        fn = call.function
        out.append(ToolCallDelta(first_index + i, f"call_{uuid.uuid4().hex[:24]}", fn.name, ""))
        out.append(ToolCallDelta(first_index + i, arguments=json.dumps(dict(fn.arguments or {}))))
    return out


def pull_model(host: str, name: str) -> Iterator[dict[str, Any]]:
    """Pull ``name`` on the Ollama server at ``host``, yielding its progress events
    ({status, digest, total, completed}) as they come."""
    import ollama

    client = ollama.Client(host=host)
    try:
        for event in client.pull(name, stream=True):
            yield event.model_dump(exclude_none=True)
    except Exception as exc:
        raise ollama_error(exc, f"ollama:{name}", host) from exc


def list_models(host: str) -> list[dict[str, Any]]:
    """Models the Ollama server at ``host`` has, as ``ollama:NAME`` ids with size and details."""
    import ollama

    try:
        listing = ollama.Client(host=host, timeout=10).list()
    except Exception as exc:
        raise ollama_error(exc, "ollama:*", host) from exc
    models = []
    for item in listing.models:
        details = item.details.model_dump(exclude_none=True) if item.details else {}
        models.append(
            {
                "id": f"ollama:{item.model}",
                "size_bytes": int(item.size or 0),
                "modified_at": item.modified_at.isoformat() if item.modified_at else None,
                "details": details,
            }
        )
    return models
