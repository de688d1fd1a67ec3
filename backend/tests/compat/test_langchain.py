"""LangChain's Ollama and Anthropic chat models against the server (``/api/chat`` and
``/v1/messages``): invoke and stream, and Anthropic's assistant prefill, which the reply
continues."""

from __future__ import annotations

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, HumanMessage
from langchain_ollama import ChatOllama

from tests.compat.conftest import ANSWER, QUESTION, SMOLLM2
from tests.helpers.server import ServerProcess


@pytest.fixture(scope="module")
def ollama_chat(compat_server: ServerProcess) -> ChatOllama:
    return ChatOllama(model=SMOLLM2, base_url=compat_server.url, temperature=0, num_predict=12)


@pytest.fixture(scope="module")
def anthropic_chat(compat_server: ServerProcess) -> ChatAnthropic:
    return ChatAnthropic(
        model_name=SMOLLM2,
        base_url=compat_server.url,
        api_key="unused",
        max_tokens=12,
        temperature=0,
        max_retries=0,
        timeout=120,
    )


@pytest.mark.parametrize("chat", ["ollama_chat", "anthropic_chat"])
def test_invoke_and_stream(chat: str, request: pytest.FixtureRequest) -> None:
    llm = request.getfixturevalue(chat)
    reply = llm.invoke([HumanMessage(QUESTION)])
    assert reply.text.strip()
    assert reply.usage_metadata["output_tokens"] > 0
    chunks = list(llm.stream([HumanMessage(QUESTION)]))
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == reply.text


def test_anthropic_prefill_is_continued(anthropic_chat: ChatAnthropic) -> None:
    prefill = "The capital of France is"
    reply = anthropic_chat.invoke([HumanMessage(QUESTION), AIMessage(prefill)])
    # The reply continues the sentence; it neither repeats it nor starts a new answer.
    assert reply.text.lstrip().startswith(ANSWER), reply.text
