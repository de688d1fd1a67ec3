"""Forced tool calls streamed to the official SDKs' stream helpers, as their users write them:
``chat.completions.stream`` with ``openai.pydantic_function_tool``, ``responses.stream`` with
``openai.pydantic_responses_function_tool`` and Anthropic's ``messages.stream``, on tools whose
model nests another one (its schema has ``$defs`` and ``$ref``), on Transformers and
llama.cpp."""

from __future__ import annotations

import json
from collections import Counter

import anthropic
import httpx
import openai
import pytest
from pydantic import BaseModel

from tests.compat.conftest import SMOLLM2_ENGINES, TINY_ENGINES
from tests.compat.shapes import ASK, City, Trip
from tests.helpers.server import ServerProcess


@pytest.fixture(scope="module")
def client(tool_clients_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{tool_clients_server.url}/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize(("model", "backend"), TINY_ENGINES + SMOLLM2_ENGINES)
@pytest.mark.parametrize("tool", [Trip, City], ids=["nested", "flat"])
def test_chat_stream_helper_parses_the_forced_call(
    client: openai.OpenAI, model: str, backend: str, tool: type[BaseModel]
) -> None:
    done = []
    with client.chat.completions.stream(
        model=model,
        messages=ASK,
        tools=[openai.pydantic_function_tool(tool)],
        tool_choice={"type": "function", "function": {"name": tool.__name__}},
        max_tokens=160,
        temperature=0,
    ) as stream:
        for item in stream:
            if item.type == "tool_calls.function.arguments.done":
                done.append(item)
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.id and call.type == "function" and call.function.name == tool.__name__
    assert isinstance(call.function.parsed_arguments, tool), call.function.arguments
    tool.model_validate_json(call.function.arguments)
    [event] = done
    assert event.name == tool.__name__ and event.arguments == call.function.arguments


def _sse_data(response: httpx.Response) -> list[dict]:
    lines = [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


@pytest.mark.parametrize(("model", "backend"), TINY_ENGINES)
def test_raw_stream_sends_one_entry_per_call_in_a_chunk(
    tool_clients_server: ServerProcess, model: str, backend: str
) -> None:
    """OpenAI's shape: the first entry of a call has index, id, type and name; later ones
    index and a piece of the arguments; no chunk has two entries for one index."""
    body = {
        "model": model,
        "messages": ASK,
        "tools": [
            {
                "type": "function",
                "function": {"name": "city", "parameters": City.model_json_schema()},
            }
        ],
        "tool_choice": "required",
        "stream": True,
        "max_tokens": 80,
        "temperature": 0,
    }
    with httpx.stream(
        "POST", f"{tool_clients_server.url}/v1/chat/completions", json=body, timeout=120
    ) as response:
        assert response.status_code == 200
        chunks = _sse_data(response)
    entries = []
    for chunk in chunks:
        delta = chunk["choices"][0]["delta"] if chunk["choices"] else {}
        calls = delta.get("tool_calls") or []
        counts = Counter(entry["index"] for entry in calls)
        assert all(n == 1 for n in counts.values()), chunk
        entries += calls
    first, *rest = entries
    assert first["index"] == 0 and first["id"] and first["type"] == "function"
    assert first["function"]["name"] == "city" and first["function"]["arguments"] == ""
    assert rest and all(set(e) == {"index", "function"} and e["index"] == 0 for e in rest)
    assert all(set(e["function"]) == {"arguments"} for e in rest)
    City.model_validate_json("".join(e["function"]["arguments"] for e in rest))
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(("model", "backend"), TINY_ENGINES + SMOLLM2_ENGINES[1:])
def test_responses_stream_with_a_nested_model(
    client: openai.OpenAI, model: str, backend: str
) -> None:
    with client.responses.stream(
        model=model,
        input=ASK[0]["content"],
        tools=[openai.pydantic_responses_function_tool(Trip)],
        tool_choice={"type": "function", "name": "Trip"},
        max_output_tokens=160,
        temperature=0,
        store=False,
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    [call] = [o for o in final.output if o.type == "function_call"]
    assert call.name == "Trip" and isinstance(call.parsed_arguments, Trip), call.arguments
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    [done] = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert "".join(deltas) == done.arguments == call.arguments


@pytest.mark.parametrize(("model", "backend"), TINY_ENGINES + SMOLLM2_ENGINES[1:])
@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "Trip"}])
def test_anthropic_stream_with_a_nested_model(
    tool_clients_server: ServerProcess, model: str, backend: str, choice: dict
) -> None:
    client = anthropic.Anthropic(base_url=tool_clients_server.url, api_key="unused", max_retries=0)
    tool = {"name": "Trip", "description": "A trip", "input_schema": Trip.model_json_schema()}
    with client.messages.stream(
        model=model,
        max_tokens=160,
        messages=ASK,
        tools=[tool],
        tool_choice=choice,
        extra_body={"temperature": 0},  # this SDK's stream() takes no temperature
    ) as stream:
        partial = "".join(e.partial_json for e in stream if e.type == "input_json")
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    [call] = [b for b in final.content if b.type == "tool_use"]
    assert call.name == "Trip"
    Trip.model_validate(call.input)
    assert json.loads(partial) == call.input
