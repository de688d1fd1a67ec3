"""Remote backend: models of a configured OpenAI-compatible server (vLLM cluster, TGI,
LM Studio, llama-server, another Mistral Playground), named ``remote:ENDPOINT/MODEL``.

Endpoints come from ``MP_REMOTE_ENDPOINTS``; the remote server applies its chat template and
counts tokens, and its stream is passed through chunk by chunk. Loading checks that the
endpoint answers ``GET /models`` (and serves the model when it lists it). An endpoint listing
several base URLs (``urls``) is a pool of replicas (:mod:`app.backends.http.replicas`): least
requests in flight first, a circuit breaker per replica.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx

from app.backends.base import (
    Backend,
    Capabilities,
    GenerationRequest,
    TokenEvent,
)
from app.backends.http.openai_client import OpenAIStream, error_from_response
from app.backends.http.replicas import Replica, ReplicaPool, ReplicaState
from app.core.config import RemoteEndpoint
from app.core.errors import AppError, BackendUnavailable, InvalidRequest, ModelNotFound
from app.core.resilience import breaker_for


class HttpEngineBackend(Backend):
    """Shared parts of engines behind an OpenAI-compatible HTTP server."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        local_tokenizer=False, json_schema=True, tools=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None
        self._pool: ReplicaPool | None = None
        self._context = 0
        self._model_name = ""

    def _connect(self, base_urls: list[str], api_key: str | None, label: str) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(10.0, read=self.settings.remote_timeout_s)
        self._client = httpx.Client(headers=headers, timeout=timeout)
        replicas = []
        for url in base_urls:
            # One breaker per replica URL, so one dead replica is skipped, not the whole pool.
            breaker = breaker_for(
                url,
                failure_threshold=self.settings.remote_breaker_failures,
                reset_after_s=self.settings.remote_breaker_reset_s,
            )
            streamer = OpenAIStream(self._client, url, self.settings.remote_retries, label, breaker)
            replicas.append(Replica(streamer))
        self._pool = ReplicaPool(replicas, label)

    def _fetch_models(self) -> list[dict[str, Any]]:
        """``GET /models`` of the first replica that answers; every replica is asked, so
        the loaded view shows from the start which ones are down."""
        assert self._client is not None and self._pool is not None
        listed: list[dict[str, Any]] | None = None
        failures: list[AppError] = []
        for replica in self._pool.replicas:
            url = replica.url + "/models"
            try:
                response = self._client.get(url)
            except httpx.TransportError as exc:
                error = BackendUnavailable(f"{self._pool.label} is unreachable at {url}: {exc}")
                replica.note_error(error)
                failures.append(error)
                continue
            if response.status_code != 200:
                raise error_from_response(response.status_code, response.text, self._model_name)
            if listed is None:
                listed = list(response.json().get("data") or [])
        if listed is None:
            if len(failures) == 1:
                raise failures[0]
            raise BackendUnavailable(
                f"{self._pool.label}: none of its {len(failures)} replicas answers: "
                + "; ".join(f.message for f in failures)
            )
        return listed

    def replicas(self) -> list[ReplicaState]:
        return self._pool.states() if self._pool is not None else []

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

    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        assert self._pool is not None, "load() first"
        self.stats.started()
        try:
            for event in self._pool.stream(self._model_name, request, cancel):
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
        self._connect(endpoint.base_urls, endpoint.api_key, f"Remote endpoint '{endpoint_name}'")
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
        urls = endpoint.base_urls if endpoint else []
        return {"url": urls[0] if urls else None, "urls": urls, "model": self._model_name}
