"""A constrained row inside the Transformers dynamic batch: free and constrained sequences
decode in one forward pass with per-row masks, and each gives exactly what it gives alone."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from app.backends.base import GenerationRequest, ModelSource, SamplingParams, TokenEvent
from app.backends.transformers.backend import TransformersBackend
from app.core.config import Settings
from app.core.errors import InvalidRequest
from app.services.tools.schema_check import constraint_for

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "ok": {"type": "boolean"},
        "kind": {"type": "string", "enum": ["a", "bb", "ccc"]},
    },
    "required": ["name", "ok", "kind"],
}
PROMPTS = ["def parse(text):", "import os\n", "class Config:", "# read the file"]


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> Iterator[TransformersBackend]:
    engine = TransformersBackend(
        ModelSource("tiny", tiny_model_dir, "hf"), Settings(threads=1, max_batch_size=8)
    )
    engine.load()
    yield engine
    engine.unload()


def _request(engine: TransformersBackend, i: int, constrained: bool) -> GenerationRequest:
    params = SamplingParams(
        max_tokens=40,
        temperature=0.0,
        repetition_penalty=1.5,
        constraint=constraint_for(SCHEMA, "response_format") if constrained else None,
    )
    return GenerationRequest(f"r{i}", engine.tokenize(PROMPTS[i]), params)


def _text(events: list[TokenEvent]) -> str:
    return "".join(e.text for e in events)


def _run(engine: TransformersBackend, request: GenerationRequest, out: list) -> None:
    engine.admit(request)
    out.extend(engine.stream(request, threading.Event()))


def test_constrained_row_in_a_batch_equals_it_alone(backend: TransformersBackend) -> None:
    requests = [_request(backend, i, constrained=i == 1) for i in range(4)]
    alone = []
    for request in requests:
        events: list[TokenEvent] = []
        _run(backend, request, events)
        alone.append(_text(events))
    jsonschema.validate(json.loads(alone[1]), SCHEMA)
    backend._scheduler.peak_batch = 0  # type: ignore[union-attr]
    results: list[list[TokenEvent]] = [[] for _ in requests]
    threads = [
        threading.Thread(target=_run, args=(backend, r, results[i])) for i, r in enumerate(requests)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert backend._scheduler.peak_batch >= 2  # type: ignore[union-attr]
    assert [_text(r) for r in results] == alone


def test_uncompilable_schema_is_refused_before_decoding(backend: TransformersBackend) -> None:
    from app.backends.base import Constraint

    request = _request(backend, 0, constrained=False)
    request.params = SamplingParams(
        max_tokens=4, constraint=Constraint('{"type": "strin"}', param="response_format")
    )
    with pytest.raises(InvalidRequest) as caught:
        backend.admit(request)
    assert caught.value.param == "response_format" and "strin" in caught.value.message
