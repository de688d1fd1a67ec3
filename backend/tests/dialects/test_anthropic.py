"""The official ``anthropic`` SDK against /v1/messages on Transformers and llama.cpp."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from tests.dialects.conftest import MODELS, TOOL_MODELS
from tests.helpers.server import ServerProcess

PROMPT = [{"role": "user", "content": "def read_config(path):"}]
# SDK 2.x dropped the sampling arguments from create(); the API still takes them.
TEMP0 = {"temperature": 0}


@pytest.fixture(scope="module")
def client(dialect_server: ServerProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=dialect_server.url, api_key="unused", max_retries=0)


def _prompt_tokens(server: ServerProcess, model: str, system: str | None = None) -> int:
    messages = ([{"role": "system", "content": system}] if system else []) + PROMPT
    body = {"model": model, "messages": messages}
    return httpx.post(f"{server.url}/tokenize", json=body, timeout=60).json()["count"]


@pytest.mark.parametrize("model", MODELS)
def test_create_counts_tokens_and_stops_at_max_tokens(client, dialect_server, model) -> None:
    reply = client.messages.create(
        model=model,
        max_tokens=12,
        messages=PROMPT,
        system=[{"type": "text", "text": "You write Python."}],
        extra_body=TEMP0,
        metadata={"user_id": "u1"},
    )
    assert reply.type == "message" and reply.role == "assistant"
    assert reply.content[0].type == "text"
    assert reply.usage.input_tokens == _prompt_tokens(dialect_server, model, "You write Python.")
    assert reply.stop_reason in ("max_tokens", "end_turn")
    if reply.stop_reason == "max_tokens":
        assert reply.usage.output_tokens == 12


@pytest.mark.parametrize("model", MODELS)
def test_stream_matches_create(client, model) -> None:
    whole = client.messages.create(model=model, max_tokens=20, messages=PROMPT, extra_body=TEMP0)
    kinds: list[str] = []
    with client.messages.stream(
        model=model, max_tokens=20, messages=PROMPT, extra_body=TEMP0
    ) as stream:
        for ev in stream:
            kinds.append(ev.type)
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds and "message_delta" in kinds
    assert final.content[0].text == whole.content[0].text
    assert final.stop_reason == whole.stop_reason
    assert final.usage.output_tokens == whole.usage.output_tokens


@pytest.mark.parametrize("model", MODELS)
def test_stop_sequence_is_reported(client, model) -> None:
    free = client.messages.create(model=model, max_tokens=40, messages=PROMPT, extra_body=TEMP0)
    text = free.content[0].text
    # A stop sequence the greedy text is known to contain, past its first character.
    stop = next((ch for ch in text[1:] if ch.strip()), None)
    assert stop is not None, text
    reply = client.messages.create(
        model=model, max_tokens=40, messages=PROMPT, extra_body=TEMP0, stop_sequences=[stop]
    )
    assert reply.stop_reason == "stop_sequence"
    assert reply.stop_sequence == stop
    assert stop not in reply.content[0].text
    assert text.startswith(reply.content[0].text)


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens_matches_usage(client, model) -> None:
    count = client.messages.count_tokens(model=model, messages=PROMPT)
    reply = client.messages.create(model=model, max_tokens=1, messages=PROMPT)
    assert count.input_tokens == reply.usage.input_tokens > 0


def test_errors_use_anthropic_envelope_and_types(client, dialect_server) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="no-such-model", max_tokens=5, messages=PROMPT)
    assert missing.value.body["type"] == "error"
    assert missing.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError) as hot:
        client.messages.create(
            model="tiny", max_tokens=5, messages=PROMPT, extra_body={"temperature": 1.5}
        )
    assert hot.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.BadRequestError) as image:
        client.messages.create(
            model="tiny",
            max_tokens=5,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                        }
                    ],
                }
            ],
        )
    assert "image" in image.value.body["error"]["message"]
    # max_tokens is required (the SDK insists too, so this goes over plain HTTP).
    raw = httpx.post(
        f"{dialect_server.url}/v1/messages", json={"model": "tiny", "messages": PROMPT}, timeout=30
    )
    assert raw.status_code == 400
    assert raw.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
    broken = httpx.post(
        f"{dialect_server.url}/v1/messages",
        content=b"{not json",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert broken.status_code == 400 and broken.json()["type"] == "error"
    # The rest of /v1 keeps OpenAI's envelope.
    other = httpx.post(
        f"{dialect_server.url}/v1/chat/completions",
        json={"model": "no-such-model", "messages": PROMPT},
        timeout=30,
    )
    assert other.status_code == 404 and "error" in other.json() and "type" not in other.json()


WEATHER = {
    "name": "get_weather",
    "description": "Current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
        "required": ["city", "unit"],
    },
}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_use_round_trip(client, model) -> None:
    first = client.messages.create(
        model=model,
        max_tokens=120,
        messages=ASK,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        extra_body=TEMP0,
    )
    assert first.stop_reason == "tool_use"
    [call] = [b for b in first.content if b.type == "tool_use"]
    assert call.name == "get_weather" and call.id
    assert isinstance(call.input["city"], str) and call.input["unit"] in ("C", "F")
    # The call and its result go back; the model answers in text.
    history = [
        *ASK,
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21 C"}],
        },
    ]
    second = client.messages.create(
        model=model, max_tokens=12, messages=history, tools=[WEATHER], extra_body=TEMP0
    )
    assert second.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert second.usage.input_tokens > first.usage.input_tokens
    counted = client.messages.count_tokens(model=model, messages=history, tools=[WEATHER])
    assert counted.input_tokens == second.usage.input_tokens


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_streamed_tool_use(client, model) -> None:
    with client.messages.stream(
        model=model,
        max_tokens=120,
        messages=ASK,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        extra_body=TEMP0,
    ) as stream:
        kinds = [ev.type for ev in stream]
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    [call] = [b for b in final.content if b.type == "tool_use"]
    assert call.name == "get_weather" and isinstance(call.input.get("city"), str)
    assert "content_block_start" in kinds and "content_block_stop" in kinds
