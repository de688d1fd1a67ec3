"""A final assistant message is continued, not answered: always on Anthropic's Messages API
(prefill), on request on /v1/chat/completions (vLLM's ``continue_final_message``), on
Transformers and llama.cpp alike. The prompt the model sees is checked token for token."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from tests.dialects.conftest import MODELS
from tests.helpers.server import ServerProcess

QUESTION = "def read_config(path):"
PREFILL = "    with open(path) as"
# tiny's ChatML template (app/tools/test_models.py), rendered by hand.
TURN = f"<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"
CONTINUED = TURN + PREFILL
CLOSED = CONTINUED + "<|im_end|>\n"
REOPENED = CLOSED + "<|im_start|>assistant\n"
MESSAGES = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": PREFILL}]


def _count(server: ServerProcess, model: str, text: str) -> int:
    body = {"model": model, "prompt": text, "add_special_tokens": False}
    response = httpx.post(f"{server.url}/tokenize", json=body, timeout=60)
    return response.json()["count"]


@pytest.fixture(scope="module")
def client(dialect_server: ServerProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=dialect_server.url, api_key="unused", max_retries=0)


@pytest.mark.parametrize("model", MODELS)
def test_anthropic_continues_a_final_assistant_turn(client, dialect_server, model) -> None:
    expected = _count(dialect_server, model, CONTINUED)
    assert expected < _count(dialect_server, model, REOPENED)
    counted = client.messages.count_tokens(model=model, messages=MESSAGES)
    reply = client.messages.create(
        model=model, max_tokens=6, messages=MESSAGES, extra_body={"temperature": 0}
    )
    assert counted.input_tokens == reply.usage.input_tokens == expected
    with client.messages.stream(
        model=model, max_tokens=6, messages=MESSAGES, extra_body={"temperature": 0}
    ) as stream:
        streamed = stream.get_final_message()
    # The reply is the continuation only, the same streamed or not.
    assert streamed.usage.input_tokens == expected
    assert streamed.content[0].text == reply.content[0].text
    assert not reply.content[0].text.startswith(PREFILL)


def test_anthropic_refuses_a_prefill_ending_in_whitespace(client) -> None:
    with pytest.raises(anthropic.BadRequestError, match="trailing whitespace"):
        client.messages.create(
            model="tiny",
            max_tokens=2,
            messages=[MESSAGES[0], {"role": "assistant", "content": PREFILL + " "}],
        )


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("fields", "prompt"),
    [
        ({}, REOPENED),  # vLLM's default: a new turn even after an assistant message
        ({"continue_final_message": True, "add_generation_prompt": False}, CONTINUED),
        ({"continue_final_message": True}, CONTINUED),
        ({"add_generation_prompt": False}, CLOSED),
    ],
    ids=["default", "continue", "continue-alone", "no-generation-prompt"],
)
def test_chat_completions_ends_the_prompt_as_asked(
    dialect_server: ServerProcess, model, fields, prompt
) -> None:
    body = {"model": model, "messages": MESSAGES, "max_tokens": 2, "temperature": 0, **fields}
    reply = httpx.post(f"{dialect_server.url}/v1/chat/completions", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    expected = _count(dialect_server, model, prompt)
    assert reply.json()["usage"]["prompt_tokens"] == expected
    tokenized = httpx.post(
        f"{dialect_server.url}/tokenize",
        json={"model": model, "messages": MESSAGES, **fields},
        timeout=60,
    )
    assert tokenized.json()["count"] == expected


def test_continue_and_generation_prompt_together_are_refused(dialect_server) -> None:
    body = {
        "model": "tiny",
        "messages": MESSAGES,
        "continue_final_message": True,
        "add_generation_prompt": True,
    }
    reply = httpx.post(f"{dialect_server.url}/v1/chat/completions", json=body, timeout=60)
    assert reply.status_code == 400
    assert "continue_final_message" in reply.json()["error"]["message"]
