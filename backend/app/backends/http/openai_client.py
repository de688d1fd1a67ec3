"""Streaming client for OpenAI-compatible servers (remote endpoints, our vLLM child process).

Sends ``/chat/completions`` (messages) or ``/completions`` (raw prompt) with ``stream=true`` and
turns the server-sent chunks into :class:`TokenEvent` items, the last one carrying the finish
reason and the server's own token counts. Connection errors, 429 and 5xx before the first chunk
are retried with exponential backoff (tenacity); once tokens flow, a failure ends the request
(replaying it would duplicate text the client already has).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import retry

from app.backends.base import (
    FinishReason,
    GenerationRequest,
    TokenEvent,
    ToolCallDelta,
    ToolUse,
)
from app.core.errors import (
    AppError,
    BackendUnavailable,
    GenerationFailed,
    InvalidRequest,
    ModelNotFound,
)
from app.core.resilience import RETRY_STATUSES, CircuitBreaker, TransientError, retry_policy


def request_body(model: str, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
    """Path and JSON body for one generation in OpenAI's format."""
    params = request.params
    body: dict[str, Any] = {
        "model": model,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        **params.seed_and_stop(),
    }
    # Not in OpenAI's API; vLLM, llama-server and Mistral Playground accept them.
    if params.top_k:
        body["top_k"] = params.top_k
    if params.repetition_penalty != 1.0:
        body["repetition_penalty"] = params.repetition_penalty
    if params.constraint is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": "output",
                "schema": json.loads(params.constraint.json_schema),
                "strict": True,
            },
        }
    if request.messages is not None:
        body["messages"] = _messages(request)
        if request.tools is not None:
            body.update(_tools(request.tools))
        # vLLM's fields (and ours); sent only when asked, since OpenAI itself refuses them.
        if request.chat_ending != "new_turn":
            body["add_generation_prompt"] = False
            body["continue_final_message"] = request.chat_ending == "continue"
        return "/chat/completions", body
    body["prompt"] = request.prompt_text
    return "/completions", body


def _messages(request: GenerationRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in request.messages or []:
        item: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            item["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in m.tool_calls
            ]
        if m.tool_call_id is not None:
            item["tool_call_id"] = m.tool_call_id
        out.append(item)
    return out


def _tools(use: ToolUse) -> dict[str, Any]:
    """``tools``, ``tool_choice`` and ``parallel_tool_calls`` as OpenAI (and vLLM's guided
    decoding for required/named choices) take them."""
    choice: Any = use.choice
    if use.choice == "function":
        choice = {"type": "function", "function": {"name": use.function}}
    return {
        "tools": [t.as_openai() for t in use.tools],
        "tool_choice": choice,
        "parallel_tool_calls": use.parallel,
    }


def _deltas(delta: dict[str, Any]) -> list[ToolCallDelta]:
    out = []
    for item in delta.get("tool_calls") or []:
        function = item.get("function") or {}
        out.append(
            ToolCallDelta(
                int(item.get("index", 0)),
                item.get("id"),
                function.get("name"),
                function.get("arguments") or "",
            )
        )
    return out


def error_from_response(status: int, text: str, model: str) -> AppError:
    """Our typed error for an error answer of the upstream server."""
    try:
        detail = json.loads(text).get("error")
        message = detail.get("message") if isinstance(detail, dict) else str(detail or text)
    except (ValueError, AttributeError):
        message = text[:500]
    if status == 404:
        return ModelNotFound(model)
    if 400 <= status < 500:
        return InvalidRequest(f"The upstream server refused the request: {message}")
    return GenerationFailed(f"The upstream server failed (HTTP {status}): {message}")


@dataclass(eq=False)
class OpenAIStream:
    """Streams one generation from an OpenAI-compatible base URL (ending in /v1)."""

    client: httpx.Client
    base_url: str
    attempts: int
    label: str
    # Fails fast while the server is down instead of spending every request's retries.
    breaker: CircuitBreaker | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    def _open(self, path: str, body: dict[str, Any]) -> httpx.Response:
        def count_retry() -> None:
            if self.breaker is not None:
                self.breaker.retries += 1

        @retry(**retry_policy(self.attempts, max_wait_s=5.0, on_retry=count_retry))
        def attempt() -> httpx.Response:
            req = self.client.build_request("POST", self.base_url + path, json=body)
            response = self.client.send(req, stream=True)
            if response.status_code in RETRY_STATUSES:
                text = response.read().decode("utf-8", "replace")
                response.close()
                raise TransientError(
                    f"HTTP {response.status_code}: {text[:300]}", response.status_code
                )
            return response

        if self.breaker is not None:
            self.breaker.before_call()
        try:
            response = attempt()
        except httpx.TransportError as exc:
            self._failed()
            raise BackendUnavailable(
                f"{self.label} is unreachable at {self.base_url}: {exc}"
            ) from exc
        except TransientError as exc:
            self._failed()
            raise GenerationFailed(
                f"{self.label} failed after {self.attempts} attempts: {exc}"
            ) from exc
        except BaseException as exc:
            if self.breaker is not None:
                self.breaker.record_outcome(exc)
            raise
        if self.breaker is not None:
            self.breaker.record_success()
        return response

    def _failed(self) -> None:
        if self.breaker is not None:
            self.breaker.record_failure()

    def stream(
        self, model: str, request: GenerationRequest, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        path, body = request_body(model, request)
        response = self._open(path, body)
        finish: str | None = None
        usage: tuple[int, int] | None = None
        try:
            if response.status_code != 200:
                text = response.read().decode("utf-8", "replace")
                raise error_from_response(response.status_code, text, model)
            for line in response.iter_lines():
                if cancel.is_set():
                    # Closing the response drops the connection: the server cancels too.
                    yield TokenEvent("", finish_reason="cancelled", usage=usage)
                    return
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    detail = chunk["error"]
                    message = detail.get("message") if isinstance(detail, dict) else detail
                    raise GenerationFailed(f"{self.label} failed mid-stream: {message}")
                if chunk.get("usage"):
                    u = chunk["usage"]
                    usage = (int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0)))
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    text = delta.get("content") or choice.get("text") or ""
                    reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
                    calls = _deltas(delta)
                    if text or reasoning or calls:
                        yield TokenEvent(
                            text, remote_token=True, reasoning=reasoning, tool_calls=calls
                        )
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
        except httpx.TransportError as exc:
            raise GenerationFailed(f"{self.label} dropped the stream: {exc}") from exc
        finally:
            response.close()
        reason: FinishReason = "length" if finish == "length" else "stop"
        yield TokenEvent("", finish_reason=reason, usage=usage)
