"""LangChain (``langchain-openai``) and the ollama client against the real server, on the
Transformers and llama.cpp backends."""

from __future__ import annotations

import json
from typing import Literal

import jsonschema
import ollama
import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from tests.helpers.server import ServerProcess
from tests.tools.conftest import MODELS


class GetWeather(BaseModel):
    """Weather forecast for a city."""

    city: str = Field(max_length=16, description="City name")
    unit: Literal["celsius", "fahrenheit"]


class Answer(BaseModel):
    """A short structured answer."""

    city: str = Field(max_length=16)
    sunny: bool


def _chat(server: ServerProcess, model: str) -> ChatOpenAI:
    return ChatOpenAI(
        model=model,
        base_url=f"{server.url}/v1",
        api_key="unused",
        temperature=0,
        max_tokens=160,
        max_retries=0,
    )


@pytest.mark.parametrize(("model", "backend"), MODELS)
def test_langchain_bind_tools_and_tool_result(
    tools_server: ServerProcess, model: str, backend: str
) -> None:
    llm = _chat(tools_server, model).bind_tools([GetWeather], tool_choice="GetWeather")
    question = HumanMessage("What is the weather in Paris?")
    reply = llm.invoke([question])
    [call] = reply.tool_calls
    assert call["name"] == "GetWeather"
    GetWeather.model_validate(call["args"])
    answer = (
        _chat(tools_server, model)
        .bind_tools([GetWeather])
        .invoke([question, reply, ToolMessage("sunny, 21 C", tool_call_id=call["id"])])
    )
    assert answer.content and not answer.tool_calls


@pytest.mark.parametrize(("model", "backend"), MODELS)
@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_langchain_with_structured_output(
    tools_server: ServerProcess, model: str, backend: str, method: str
) -> None:
    llm = _chat(tools_server, model).with_structured_output(Answer, method=method)
    result = llm.invoke("Describe the weather in Paris.")
    assert isinstance(result, Answer)


@pytest.fixture(scope="module")
def ollama_client(tools_server: ServerProcess) -> ollama.Client:
    return ollama.Client(host=tools_server.url)


@pytest.mark.parametrize(("model", "backend"), MODELS)
def test_ollama_format_schema(ollama_client: ollama.Client, model: str, backend: str) -> None:
    schema = Answer.model_json_schema()
    reply = ollama_client.chat(
        model=model,
        messages=[{"role": "user", "content": "Paris?"}],
        format=schema,
        options={"temperature": 0, "num_predict": 60},
    )
    jsonschema.validate(json.loads(reply.message.content), schema)
    assert reply.done_reason == "stop"


@pytest.mark.parametrize(("model", "backend"), MODELS)
def test_ollama_tools_with_history(ollama_client: ollama.Client, model: str, backend: str) -> None:
    """Tools are offered (Ollama has no tool_choice); earlier calls and their results in the
    history reach the model, and it answers."""

    def get_weather(city: str) -> str:
        """Weather in a city.

        Args:
          city: The city
        """
        return "sunny"

    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "sunny, 21 C", "tool_name": "get_weather"},
    ]
    reply = ollama_client.chat(
        model=model,
        messages=messages,
        tools=[get_weather],
        options={"temperature": 0, "num_predict": 24},
    )
    assert reply.message.content or reply.message.tool_calls
    for call in reply.message.tool_calls or []:
        assert call.function.name == "get_weather" and "city" in call.function.arguments


def test_ollama_think_gives_thinking(ollama_client: ollama.Client) -> None:
    reply = ollama_client.chat(
        model="tiny-think",
        messages=[{"role": "user", "content": "hi"}],
        think=True,
        options={"temperature": 0, "num_predict": 12},
    )
    assert reply.message.thinking and not reply.message.content
    parts = [
        c.message.thinking or ""
        for c in ollama_client.chat(
            model="tiny-think",
            messages=[{"role": "user", "content": "hi"}],
            think=True,
            stream=True,
            options={"temperature": 0, "num_predict": 12},
        )
    ]
    assert "".join(parts) == reply.message.thinking


def test_ollama_bad_format_names_the_field(tools_server: ServerProcess) -> None:
    import httpx

    response = httpx.post(
        f"{tools_server.url}/api/chat",
        json={
            "model": "tiny",
            "stream": False,
            "messages": [{"role": "user", "content": "x"}],
            "format": {"type": "object", "if": {"required": ["a"]}},
        },
        timeout=60,
    )
    assert response.status_code == 400
    assert "'if'" in response.json()["error"]


def test_compare_reports_whether_each_output_follows_the_schema(
    tools_server: ServerProcess,
) -> None:
    import httpx

    schema = Answer.model_json_schema()
    body = {
        "models": [{"model": "tiny"}, {"model": "smollm2.gguf"}],
        "json_schema": schema,
        "messages": [{"role": "user", "content": "Paris?"}],
        "temperature": 0,
        "max_tokens": 80,
    }
    done = {}
    with httpx.stream(
        "POST", f"{tools_server.url}/api/v1/compare", json=body, timeout=120
    ) as response:
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name == "done":
                data = json.loads(line[5:])
                done[data["index"]] = data
    assert set(done) == {0, 1}
    for item in done.values():
        assert item["schema_valid"] is True, item
        jsonschema.validate(json.loads(item["response"]["text"]), schema)
