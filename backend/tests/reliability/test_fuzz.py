"""Schemathesis against the app's own OpenAPI document, over a real socket, with the tiny model.

Every operation gets generated cases (valid and invalid); the checks demand no 5xx, responses
that match their documented schema, status code and content type, and no stack trace in any
body. Two profiles (``MP_FUZZ_PROFILE``):

- ``ci`` (default): 12 cases per operation, fixed seed; a few minutes.
- ``full``: enough cases per operation for >= 2,000 in all (fixed seed too):
  ``MP_FUZZ_PROFILE=full .venv/bin/python -m pytest backend/tests/reliability/test_fuzz.py``

The totals are printed at the end and written to ``fuzz-summary.json`` in the server's data dir;
the fixture's teardown fails the run on any 5xx (and, in ``full``, on too few cases), whatever
order the tests ran in.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers.hub_server import HubServer
from tests.helpers.server import ServerProcess, free_port
from tests.reliability.conftest import start_server

PROFILE = os.environ.get("MP_FUZZ_PROFILE", "ci")
FULL_TOTAL = 2000
SEED = 20261122

TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "site-packages/")

STATS: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()


@schemathesis.check
def no_stack_traces(ctx, response, case) -> bool | None:
    text = response.text or ""
    for marker in TRACE_MARKERS:
        if marker in text:
            raise AssertionError(f"response body contains a stack trace marker: {marker!r}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    no_stack_traces,
]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory, tiny_model_dir: Path) -> Iterator[ServerProcess]:
    # A private copy of the model: the fuzzer calls DELETE /models/{id} with what it likes.
    models = tmp_path_factory.mktemp("fuzz-models")
    shutil.copytree(tiny_model_dir, models / "tiny")
    # A local Hub: download requests get real answers (404 for the repos the fuzzer invents)
    # instead of "hub offline"; nothing leaves the machine.
    hub = HubServer().start()
    hub.add_repo("org/tiny", tiny_model_dir)
    # The server is its own Ollama host (it speaks the Ollama API), so Ollama-backed routes
    # meet a live server rather than "no Ollama here" (a 503 that is right, but not a bug).
    port = free_port()
    proc = start_server(
        tmp_path_factory,
        models,
        "fuzz",
        port=port,
        MP_OLLAMA_HOST=f"http://127.0.0.1:{port}",
        HF_ENDPOINT=hub.url,
        HF_HUB_OFFLINE="0",
        HF_HOME=str(tmp_path_factory.mktemp("fuzz-hf-home")),
        # Short generations: fuzzing checks validation and contracts, not throughput.
        MP_MAX_NEW_TOKENS_CAP="48",
        MP_DEFAULT_MAX_NEW_TOKENS="8",
    )
    httpx.post(f"{proc.url}/api/v1/models/tiny/load", timeout=300).raise_for_status()
    yield proc
    summary = {
        "profile": PROFILE,
        "cases": STATS["cases"],
        "operations": STATS["operations"],
        "server_errors": sum(n for s, n in STATUSES.items() if s >= 500),
        "statuses": {str(k): v for k, v in sorted(STATUSES.items())},
    }
    (Path(proc.env["MP_DATA_DIR"]) / "fuzz-summary.json").write_text(json.dumps(summary))
    print("\nfuzz summary:", json.dumps(summary))
    healthy = httpx.get(f"{proc.url}/api/v1/health", timeout=60).status_code == 200
    proc.stop()
    hub.stop()
    # The totals are checked here, after every test that used the server, whatever order the
    # tests ran in (and not at all when no contract case was selected, e.g. -k served).
    if STATS["cases"]:
        assert not any(status >= 500 for status in STATUSES), STATUSES
        if PROFILE == "full":
            assert STATS["cases"] >= FULL_TOTAL, STATS
        assert healthy, "the server stopped answering /api/v1/health during fuzzing"


def _local_schema() -> dict:
    """The app's OpenAPI document, built in-process at collection time (the served copy is
    checked to be the same in test_served_document_is_the_one_fuzzed)."""
    import tempfile

    from app.core.config import Settings
    from app.main import create_app

    folder = Path(tempfile.mkdtemp(prefix="fuzz-schema-"))
    return create_app(Settings(data_dir=folder, models_dir=folder)).openapi()


DOCUMENT = _local_schema()
# Not fuzzed: saving or testing an MCP server configuration starts the command it names (an
# admin's power); random commands are not something to run on a test machine
# (tests/mcp/ covers these routes' bad input).
NOT_FUZZED = {("/api/v1/mcp/test", "POST"), ("/api/v1/mcp/servers/{name}", "PUT")}
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(
    func=lambda ctx: (ctx.operation.path, ctx.operation.method.upper()) in NOT_FUZZED
)
STATS["operations"] = sum(len(item) for item in DOCUMENT["paths"].values())


def test_served_document_is_the_one_fuzzed(fuzz_server: ServerProcess):
    served = httpx.get(f"{fuzz_server.url}/openapi.json", timeout=60).json()
    assert served["paths"].keys() == DOCUMENT["paths"].keys()


def _examples_per_operation() -> int:
    if PROFILE == "full":
        operations = sum(len(item) for item in DOCUMENT["paths"].values())
        # 10% over the share per operation: a few cases of an operation may be filtered.
        return int(os.environ.get("MP_FUZZ_EXAMPLES", math.ceil(FULL_TOTAL * 1.1 / operations)))
    return int(os.environ.get("MP_FUZZ_EXAMPLES", 12))


@schema.parametrize()
@settings(
    max_examples=_examples_per_operation(),
    deadline=None,
    derandomize=True,  # fixed seed: the same cases every run
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_contract(case, fuzz_server: ServerProcess):
    response = case.call_and_validate(base_url=fuzz_server.url, checks=CHECKS, timeout=120)
    STATS["cases"] += 1
    STATUSES[response.status_code] += 1


def test_every_operation_is_fuzzed() -> None:
    """Each documented operation has generated cases (independent of order: reads the schema;
    the totals of what ran are checked when the fuzz server's fixture ends)."""
    operations = {(p, m.upper()) for p, item in DOCUMENT["paths"].items() for m in item}
    fuzzed = {(op.path, op.method.upper()) for op in _operations()}
    assert operations - NOT_FUZZED == fuzzed


def _operations():
    for result in schema.get_all_operations():
        yield result.ok()
