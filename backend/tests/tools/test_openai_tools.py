"""Tools, structured output and reasoning through the official openai SDK, on the tiny model
(Transformers, xgrammar) and the bundled SmolLM2 (llama.cpp, GBNF). Constrained decoding is
what makes these small models return valid arguments."""

from __future__ import annotations

import json
from typing import Literal

import httpx
import jsonschema
import openai
import pytest
from pydantic import BaseModel, Field

from tests.helpers.server import ServerProcess
from tests.tools.conftest import MODELS

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 16},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "hourly": {"type": "boolean"},
    },
    "required": ["city", "unit", "hourly"],
}
TIME = {
    "type": "object",
    "properties": {"zone": {"type": "string", "enum": ["UTC", "CET"]}},
    "required": ["zone"],
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather forecast",
            "parameters": WEATHER,
        },
    },
    {
        "type": "function",
        "function": {"name": "get_time", "description": "Current time", "parameters": TIME},
    },
]
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
ASK = [{"role": "user", "content": "What is the weather in Paris for the next 3 days?"}]


class Forecast(BaseModel):
    city: str = Field(max_length=16)
    sunny: bool
    unit: Literal["celsius", "fahrenheit"]


@pytest.fixture(scope="module")
def client(tools_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{tools_server.url}/v1", api_key="unused", max_retries=0)


def _valid_call(call) -> dict:
    assert call.type == "function" and call.id.startswith("call_")
    args = json.loads(call.function.arguments)
    jsonschema.validate(args, SCHEMAS[call.function.name])
    return args


@pytest.mark.parametrize(("model", "backend"), MODELS)
def test_parse_with_pydantic_model(client: openai.OpenAI, model: str, backend: str) -> None:
    reply = client.chat.completions.parse(
        model=model,
        messages=[{"role": "user", "content": "Describe Paris."}],
        response_format=Forecast,
        max_tokens=80,
        temperature=0,
    )
    assert reply.model_extra["timings"]["backend"] == backend
    parsed = reply.choices[0].message.parsed
    assert isinstance(parsed, Forecast), reply.choices[0].message.content


@pytest.mark.parametrize(("model", "backend"), MODELS)
def test_named_tool_choice_forces_that_call(
    client: openai.OpenAI, model: str, backend: str
) -> None:
    reply = client.chat.completions.create(
        model=model,
        messages=ASK,
        tools=TOOLS,
        max_tokens=80,
        temperature=0,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.function.name == "get_time"
    _valid_call(call)


@pytest.mark.parametrize(("model", "backend"), MODELS)
def test_required_tool_choice_then_tool_result_gets_a_reply(
    client: openai.OpenAI, model: str, backend: str
) -> None:
    first = client.chat.completions.create(
        model=model,
        messages=ASK,
        tools=TOOLS,
        tool_choice="required",
        max_tokens=80,
        temperature=0,
    )
    [call] = first.choices[0].message.tool_calls
    _valid_call(call)
    history = [
        *ASK,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"forecast": "sunny, 21 C"}'},
    ]
    second = client.chat.completions.create(
        model=model,
        messages=history,
        tools=TOOLS,
        max_tokens=24,
        temperature=0,
    )
    choice = second.choices[0]
    assert choice.finish_reason in ("stop", "length")
    assert choice.message.content and not choice.message.tool_calls


@pytest.mark.parametrize(("model", "backend"), MODELS)
def test_streamed_tool_call_assembles_like_the_sdk(
    client: openai.OpenAI, model: str, backend: str
) -> None:
    deltas = []
    finish = None
    with client.chat.completions.stream(
        model=model,
        messages=ASK,
        tools=TOOLS,
        tool_choice="required",
        max_tokens=80,
        temperature=0,
    ) as stream:
        for item in stream:
            if item.type == "chunk" and item.chunk.choices:
                choice = item.chunk.choices[0]
                deltas.extend(choice.delta.tool_calls or [])
                finish = choice.finish_reason or finish
        final = stream.get_final_completion()
    assert finish == "tool_calls"
    # OpenAI's order: the first piece has index, id, type and name; later ones only arguments.
    assert deltas[0].id and deltas[0].function.name and deltas[0].type == "function"
    assert len(deltas) > 1 and all(d.id is None and d.function.name is None for d in deltas[1:])
    [call] = final.choices[0].message.tool_calls
    assert call.id == deltas[0].id
    assert call.function.arguments == "".join(d.function.arguments or "" for d in deltas)
    _valid_call(call)


def test_constrained_strings_are_json_on_llamacpp(client: openai.OpenAI) -> None:
    """The tiny model writes newlines wherever it may; a JSON string may not hold a raw one
    (llama-cpp-python's grammar let them in, so its calls were not JSON and stayed text)."""
    reply = client.chat.completions.create(
        model="tiny-f16.gguf",
        messages=ASK,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=200,
        temperature=0,
    )
    [call] = reply.choices[0].message.tool_calls
    _valid_call(call)
    answer = client.chat.completions.create(
        model="tiny-f16.gguf",
        messages=ASK,
        response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": WEATHER}},
        max_tokens=200,
        temperature=0,
    )
    jsonschema.validate(json.loads(answer.choices[0].message.content), WEATHER)


def test_reasoning_content_is_apart_from_content(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="tiny-think",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=12,
        temperature=0,
    )
    message = reply.choices[0].message
    # The template opened <think> and the tiny model never closes it: all of it is reasoning.
    assert message.model_extra["reasoning_content"]
    assert not message.content
    streamed = client.chat.completions.create(
        model="tiny-think",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=12,
        temperature=0,
        stream=True,
    )
    parts = [
        c.choices[0].delta.model_extra.get("reasoning_content") or "" for c in streamed if c.choices
    ]
    assert "".join(parts) == message.model_extra["reasoning_content"]


# --- bad input ---------------------------------------------------------------------------------
def _post(server: ServerProcess, body: dict) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "tiny", "messages": ASK, "max_tokens": 4, **body},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "f", "parameters": {"type": "objekt"}},
                    }
                ]
            },
            "tools",
            "not a valid JSON schema",
        ),
        (
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
            "'nope'",
        ),
        (
            {"messages": [*ASK, {"role": "tool", "tool_call_id": "call_x", "content": "1"}]},
            "messages",
            "call_x",
        ),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "x",
                        "schema": {"type": "object", "not": {"required": ["a"]}},
                    },
                }
            },
            "response_format",
            "'not'",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {
                                "type": "object",
                                "properties": {"a": {"type": "array", "uniqueItems": True}},
                            },
                        },
                    }
                ],
                "tool_choice": "required",
            },
            "tools",
            "'uniqueItems' at #/properties/a",
        ),
    ],
)
def test_bad_tool_input_is_a_400(
    tools_server: ServerProcess, body: dict, param: str, words: str
) -> None:
    response = _post(tools_server, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and words in error["message"], error
