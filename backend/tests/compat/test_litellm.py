"""litellm against the server: its OpenAI-compatible provider (``openai/`` with ``api_base``
at ``/v1``) and its two Ollama providers (``ollama/`` calls ``/api/generate``, ``ollama_chat/``
calls ``/api/chat``, both sending their JSON without a Content-Type), completion and streaming."""

from __future__ import annotations

import litellm
import pytest

from tests.compat.conftest import QUESTION, SMOLLM2
from tests.helpers.server import ServerProcess

MESSAGES = [{"role": "user", "content": QUESTION}]


def _route(server: ServerProcess, provider: str) -> dict:
    if provider == "openai":
        return {"model": f"openai/{SMOLLM2}", "api_base": f"{server.url}/v1", "api_key": "unused"}
    return {"model": f"{provider}/{SMOLLM2}", "api_base": server.url}


PROVIDERS = ["openai", "ollama", "ollama_chat"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_completion(compat_server: ServerProcess, provider: str) -> None:
    reply = litellm.completion(
        messages=MESSAGES, max_tokens=8, temperature=0, **_route(compat_server, provider)
    )
    text = reply.choices[0].message.content
    assert text and text.strip()
    assert reply.usage.completion_tokens > 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streaming(compat_server: ServerProcess, provider: str) -> None:
    chunks = list(
        litellm.completion(
            messages=MESSAGES,
            max_tokens=8,
            temperature=0,
            stream=True,
            **_route(compat_server, provider),
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 1 and text.strip()
    whole = litellm.completion(
        messages=MESSAGES, max_tokens=8, temperature=0, **_route(compat_server, provider)
    )
    assert text == whole.choices[0].message.content
