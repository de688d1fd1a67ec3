"""Remote backend: models of a configured OpenAI-compatible server (vLLM cluster, TGI,
LM Studio, llama-server, another Mistral Playground), named ``remote:ENDPOINT/MODEL``.

Endpoints come from ``MP_REMOTE_ENDPOINTS``; the remote server applies its chat template and
counts tokens, and its stream is passed through chunk by chunk. Loading checks that the
endpoint answers ``GET /models`` (and serves the model when it lists it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx

from app.backends.base import Backend, Capabilities, ChatMessage, GenerationRequest, TokenEvent
from app.backends.openai_http import OpenAIStream, error_from_response
from app.core.config import RemoteEndpoint
from app.core.errors import BackendUnavailable, InvalidRequest, ModelNotFound
from app.core.resilience import breaker_for


class HttpEngineBackend(Backend):
    """Shared parts of engines behind an OpenAI-compatible HTTP server."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        local_tokenizer=False, json_schema=True, tools=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None
        self._streamer: OpenAIStream | None = None
        self._context = 0
        self._model_name = ""

    def _connect(self, base_url: str, api_key: str | None, label: str) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(10.0, read=self.settings.remote_timeout_s)
        self._client = httpx.Client(headers=headers, timeout=timeout)
        breaker = breaker_for(
            base_url,
            failure_threshold=self.settings.remote_breaker_failures,
            reset_after_s=self.settings.remote_breaker_reset_s,
        )
        self._streamer = OpenAIStream(
            self._client, base_url, self.settings.remote_retries, label, breaker
        )

    def _fetch_models(self) -> list[dict[str, Any]]:
        assert self._client is not None and self._streamer is not None
        url = self._streamer.base_url + "/models"
        try:
            response = self._client.get(url)
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"{self._streamer.label} is unreachable at {url}: {exc}"
            ) from exc
        if response.status_code != 200:
            raise error_from_response(response.status_code, response.text, self._model_name)
        return list(response.json().get("data") or [])

    def unload(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def context_length(self) -> int:
        """The server's context window when it says (vLLM does), else 0 (unknown)."""
        return self._context

    @property
    def device(self) -> str:
        return "remote"

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        raise InvalidRequest(f"The {self.name} backend has no local tokenizer.", param="model")

    def render_chat(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> str:
        raise InvalidRequest(
            f"The {self.name} backend applies its chat template remotely.", param="model"
        )

    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        assert self._streamer is not None, "load() first"
        self.stats.started()
        try:
            for event in self._streamer.stream(self._model_name, request, cancel):
                if event.remote_token:
                    self.stats.add_tokens()
                yield event
        finally:
            self.stats.finished()


class RemoteBackend(HttpEngineBackend):
    """A model on a configured OpenAI-compatible endpoint."""

    name: ClassVar[str] = "remote"
    extra: ClassVar[str] = "requirements-cpu.txt"

    def load(self) -> None:
        endpoint_name = str(self.source.extra.get("endpoint", ""))
        self._model_name = str(self.source.extra.get("name", ""))
        endpoint = self._endpoint(endpoint_name)
        if endpoint.models and self._model_name not in endpoint.models:
            raise ModelNotFound(self.source.model_id)
        self._connect(endpoint.url, endpoint.api_key, f"Remote endpoint '{endpoint_name}'")
        listed = self._fetch_models()
        ids = {str(m.get("id")) for m in listed}
        if ids and self._model_name not in ids:
            raise ModelNotFound(self.source.model_id)
        for item in listed:
            if item.get("id") == self._model_name and isinstance(item.get("max_model_len"), int):
                self._context = int(item["max_model_len"])

    def _endpoint(self, name: str) -> RemoteEndpoint:
        endpoints = self.settings.remote_endpoints
        if name not in endpoints:
            known = ", ".join(sorted(endpoints)) or "none configured (MP_REMOTE_ENDPOINTS)"
            raise InvalidRequest(
                f"Unknown remote endpoint '{name}'. Configured endpoints: {known}.",
                param="model",
            )
        return endpoints[name]

    def health(self) -> dict[str, Any]:
        endpoint = self.settings.remote_endpoints.get(str(self.source.extra.get("endpoint")))
        return {"url": endpoint.url if endpoint else None, "model": self._model_name}
