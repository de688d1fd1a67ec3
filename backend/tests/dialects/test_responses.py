"""The official ``openai`` SDK against /v1/responses on Transformers and llama.cpp."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.dialects.conftest import MODELS, TOOL_MODELS
from tests.helpers.server import ServerProcess


@pytest.fixture(scope="module")
def client(dialect_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{dialect_server.url}/v1", api_key="unused", max_retries=0)


def _tokens(server: ServerProcess, model: str, messages: list[dict]) -> int:
    body = {"model": model, "messages": messages}
    return httpx.post(f"{server.url}/tokenize", json=body, timeout=60).json()["count"]


@pytest.mark.parametrize("model", MODELS)
def test_create_plain(client, dialect_server, model) -> None:
    r = client.responses.create(
        model=model,
        input="def add(a, b):",
        instructions="Write Python.",
        max_output_tokens=10,
        temperature=0,
    )
    assert r.object == "response" and r.id.startswith("resp_")
    assert r.status in ("completed", "incomplete")
    assert r.output[0].type == "message" and r.output_text == r.output[0].content[0].text
    expected = _tokens(
        dialect_server,
        model,
        [
            {"role": "system", "content": "Write Python."},
            {"role": "user", "content": "def add(a, b):"},
        ],
    )
    assert r.usage.input_tokens == expected
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    if r.status == "incomplete":
        assert r.incomplete_details.reason == "max_output_tokens"
        assert r.usage.output_tokens == 10


@pytest.mark.parametrize("model", MODELS)
def test_streamed_events_match_plain(client, model) -> None:
    whole = client.responses.create(
        model=model, input="import os", max_output_tokens=16, temperature=0, store=False
    )
    with client.responses.stream(
        model=model, input="import os", max_output_tokens=16, temperature=0, store=False
    ) as stream:
        kinds = [ev.type for ev in stream]
        final = stream.get_final_response()
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert kinds.count("response.output_text.delta") >= 2
    assert final.output_text == whole.output_text
    assert final.usage.output_tokens == whole.usage.output_tokens


@pytest.mark.parametrize("model", MODELS)
def test_chained_with_previous_response_id(client, dialect_server, model) -> None:
    first = client.responses.create(
        model=model, input="def f():", max_output_tokens=6, temperature=0
    )
    second = client.responses.create(
        model=model,
        input="def g():",
        max_output_tokens=6,
        temperature=0,
        previous_response_id=first.id,
    )
    conversation = [
        {"role": "user", "content": "def f():"},
        {"role": "assistant", "content": first.output_text},
        {"role": "user", "content": "def g():"},
    ]
    assert second.usage.input_tokens == _tokens(dialect_server, model, conversation)
    assert second.previous_response_id == first.id
    assert client.responses.retrieve(second.id).output_text == second.output_text
    items = list(client.responses.input_items.list(second.id))
    assert [i.content[0].text for i in items] == ["def g():"]
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)


def test_bad_input(client) -> None:
    with pytest.raises(openai.NotFoundError) as prev:
        client.responses.create(model="tiny", input="x", previous_response_id="resp_missing")
    assert prev.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.NotFoundError) as model:
        client.responses.create(model="no-such-model", input="x")
    assert model.value.body["code"] == "model_not_found"
    unstored = client.responses.create(model="tiny", input="x", max_output_tokens=2, store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    with pytest.raises(openai.BadRequestError) as image:
        client.responses.create(
            model="tiny",
            input=[
                {
                    "role": "user",
                    "content": [{"type": "input_image", "image_url": "http://127.0.0.1/x.png"}],
                }
            ],
        )
    assert "input_image" in image.value.body["message"]


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
        "required": ["city", "unit"],
    },
}


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_function_call_then_output_continues(client, model) -> None:
    first = client.responses.create(
        model=model,
        input="Weather in Paris?",
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=120,
        temperature=0,
    )
    [call] = [o for o in first.output if o.type == "function_call"]
    assert call.name == "get_weather"
    args = json.loads(call.arguments)
    assert isinstance(args["city"], str) and args["unit"] in ("C", "F")
    # The stored turn carries the call; its output continues the conversation.
    second = client.responses.create(
        model=model,
        previous_response_id=first.id,
        tools=[WEATHER],
        max_output_tokens=8,
        temperature=0,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert second.status in ("completed", "incomplete")
    assert second.usage.input_tokens > first.usage.input_tokens


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_streamed_function_call(client, model) -> None:
    with client.responses.stream(
        model=model,
        input="Weather in Paris?",
        tools=[WEATHER],
        tool_choice="required",
        max_output_tokens=120,
        temperature=0,
        store=False,
    ) as stream:
        kinds = [ev.type for ev in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    assert "response.function_call_arguments.done" in kinds
    [call] = [o for o in final.output if o.type == "function_call"]
    assert json.loads(call.arguments)["unit"] in ("C", "F")
