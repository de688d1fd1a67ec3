"""LlamaIndex against the server through its Ollama integration (``llama-index-llms-ollama``):
complete, chat and their streams. (Its OpenAI-compatible integration needs openai<3, which the
project's pins rule out; see requirements-dev.txt.)"""

from __future__ import annotations

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.llms.ollama import Ollama

from tests.compat.conftest import QUESTION, SMOLLM2
from tests.helpers.server import ServerProcess


@pytest.fixture(scope="module")
def llm(compat_server: ServerProcess) -> Ollama:
    return Ollama(
        model=SMOLLM2,
        base_url=compat_server.url,
        request_timeout=120,
        temperature=0,
        context_window=2048,
        additional_kwargs={"num_predict": 12},
    )


def test_complete_and_stream_complete(llm: Ollama) -> None:
    whole = llm.complete(QUESTION)
    assert whole.text.strip()
    pieces = list(llm.stream_complete(QUESTION))
    assert len(pieces) > 1 and pieces[-1].text == whole.text


def test_chat_and_stream_chat(llm: Ollama) -> None:
    messages = [ChatMessage(role="user", content=QUESTION)]
    reply = llm.chat(messages)
    assert reply.message.role == "assistant" and reply.message.content.strip()
    pieces = list(llm.stream_chat(messages))
    assert len(pieces) > 1 and pieces[-1].message.content == reply.message.content
