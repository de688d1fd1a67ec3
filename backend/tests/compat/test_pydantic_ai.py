"""pydantic-ai: an Agent on an OpenAI-compatible model pointed at ``/v1``, with plain text
output and with a structured output (pydantic-ai asks for it as a required tool call, which
the server enforces with a grammar, so even SmolLM2-135M returns a valid object)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.compat.conftest import QUESTION, SMOLLM2
from tests.helpers.server import ServerProcess


class City(BaseModel):
    """A city and its country."""

    name: str = Field(max_length=24)
    country: str = Field(max_length=24)


@pytest.fixture(scope="module")
def model(compat_server: ServerProcess) -> OpenAIChatModel:
    provider = OpenAIProvider(base_url=f"{compat_server.url}/v1", api_key="unused")
    return OpenAIChatModel(SMOLLM2, provider=provider)


def test_text_output(model: OpenAIChatModel) -> None:
    agent = Agent(model, model_settings={"max_tokens": 12, "temperature": 0})
    result = agent.run_sync(QUESTION)
    assert isinstance(result.output, str) and result.output.strip()
    assert result.usage.output_tokens > 0


def test_structured_output(model: OpenAIChatModel) -> None:
    agent = Agent(
        model,
        output_type=City,
        instructions="Answer with the city asked about.",
        model_settings={"max_tokens": 60, "temperature": 0},
    )
    result = agent.run_sync("Which city is the capital of France?")
    assert isinstance(result.output, City) and result.output.name
