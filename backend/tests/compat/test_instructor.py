"""instructor (``Mode.TOOLS``: a forced tool call per answer) against the real server, as its
users write it: ``create`` with a nested response model, and partial streaming with
``create_partial`` and ``create(stream=True)`` on ``Partial[...]``, on Transformers and
llama.cpp."""

from __future__ import annotations

import instructor
import pytest
from openai import OpenAI
from pydantic import BaseModel

from tests.compat.conftest import SMOLLM2_ENGINES, TINY_ENGINES
from tests.compat.shapes import ASK, City, Trip
from tests.helpers.server import ServerProcess


@pytest.fixture(scope="module")
def client(tool_clients_server: ServerProcess) -> instructor.Instructor:
    openai_client = OpenAI(
        base_url=f"{tool_clients_server.url}/v1", api_key="unused", max_retries=0
    )
    return instructor.from_openai(openai_client, mode=instructor.Mode.TOOLS)


@pytest.mark.parametrize(("model", "backend"), TINY_ENGINES + SMOLLM2_ENGINES)
def test_create_with_a_nested_response_model(
    client: instructor.Instructor, model: str, backend: str
) -> None:
    trip = client.create(
        model=model,
        response_model=Trip,
        messages=ASK,
        max_tokens=160,
        temperature=0,
        max_retries=1,
    )
    assert isinstance(trip, Trip) and isinstance(trip.origin, City)


@pytest.mark.parametrize(("model", "backend"), TINY_ENGINES)
@pytest.mark.parametrize("response_model", [Trip, City], ids=["nested", "flat"])
def test_create_partial_streams_growing_objects(
    client: instructor.Instructor, model: str, backend: str, response_model: type[BaseModel]
) -> None:
    partials = list(
        client.create_partial(
            model=model,
            response_model=response_model,
            messages=ASK,
            max_tokens=160,
            temperature=0,
            max_retries=1,
        )
    )
    # The arguments arrive in pieces: the object fills in over several partials, and the last
    # one is the whole answer.
    filled = [p.model_dump(exclude_none=True) for p in partials]
    assert len({repr(f) for f in filled}) > 2, filled
    response_model.model_validate(filled[-1])


@pytest.mark.parametrize(("model", "backend"), TINY_ENGINES)
def test_create_stream_of_partial(client: instructor.Instructor, model: str, backend: str) -> None:
    stream = client.chat.completions.create(
        model=model,
        response_model=instructor.Partial[Trip],
        messages=ASK,
        max_tokens=160,
        temperature=0,
        stream=True,
    )
    partials = list(stream)
    assert len(partials) > 2
    Trip.model_validate(partials[-1].model_dump())
