"""The openai-agents SDK: an Agent with a function tool on our chat completions (tracing off,
since it would upload to OpenAI). The first run must call the tool (``tool_choice``
required, enforced by the server's grammar); the tool's result ends the run."""

from __future__ import annotations

import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    RunConfig,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

from tests.compat.conftest import SMOLLM2
from tests.helpers.server import ServerProcess

CALLS: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """The weather forecast for a city."""
    CALLS.append(city)
    return f"Sunny in {city}, 21 C."


@pytest.fixture(scope="module")
def model(compat_server: ServerProcess) -> OpenAIChatCompletionsModel:
    set_tracing_disabled(True)
    client = AsyncOpenAI(base_url=f"{compat_server.url}/v1", api_key="unused", max_retries=0)
    return OpenAIChatCompletionsModel(model=SMOLLM2, openai_client=client)


def test_agent_calls_a_function_tool(model: OpenAIChatCompletionsModel) -> None:
    agent = Agent(
        name="weather",
        instructions="Use the get_weather tool to answer.",
        tools=[get_weather],
        model=model,
        model_settings=ModelSettings(tool_choice="required", max_tokens=60, temperature=0),
        tool_use_behavior="stop_on_first_tool",
    )
    CALLS.clear()
    result = Runner.run_sync(
        agent, "What is the weather in Paris?", run_config=RunConfig(tracing_disabled=True)
    )
    assert len(CALLS) == 1 and CALLS[0]
    assert result.final_output == f"Sunny in {CALLS[0]}, 21 C."
