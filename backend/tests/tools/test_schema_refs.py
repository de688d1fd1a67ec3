"""Tool parameters with local ``$ref`` inside a forced call's schema, and schemas the grammar
converters cannot take: a 400 in the called API's error format, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest
import xgrammar as xgr

from app.backends.base import ToolSpec, ToolUse
from app.backends.json_schema import unresolved_ref
from app.backends.llamacpp.sampling import json_schema_to_gbnf
from app.services.tools.hermes import HermesFormat
from app.services.tools.llama3 import Llama3Format
from app.services.tools.mistral import MistralFormat
from tests.helpers.server import ServerProcess
from tests.tools.conftest import MODELS

CITY = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
TRIP = {  # as Pydantic writes a model that nests another
    "$defs": {"City": CITY},
    "type": "object",
    "properties": {
        "origin": {"$ref": "#/$defs/City"},
        "stops": {"items": {"$ref": "#/$defs/City"}},
    },
    "required": ["origin", "stops"],
}
ROUTE = {  # another tool with its own, different 'City', in draft-07's 'definitions'
    "definitions": {"City": {"type": "string", "enum": ["Paris", "Rome"]}},
    "type": "object",
    "properties": {"to": {"$ref": "#/definitions/City"}},
    "required": ["to"],
}
NODE = {  # a recursive model: the root itself is a reference
    "$defs": {
        "Node": {
            "type": "object",
            "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            "required": ["kids"],
        }
    },
    "$ref": "#/$defs/Node",
}
SELF = {  # pointers at the parameters themselves
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"$ref": "#/properties/a"}, "c": {"$ref": "#"}},
}


def _use(choice: str = "required", function: str | None = None) -> ToolUse:
    specs = tuple(
        ToolSpec(name, "", json.dumps(schema))
        for name, schema in (("trip", TRIP), ("route", ROUTE), ("node", NODE), ("self", SELF))
    )
    return ToolUse(specs, choice, function)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", [HermesFormat(), Llama3Format(), MistralFormat()])
def test_forced_schema_keeps_every_reference_resolvable(fmt: Any) -> None:
    schema = fmt.forced_schema(_use())
    assert unresolved_ref(schema) is None
    text = json.dumps(schema)
    xgr.Grammar.from_json_schema(text, any_whitespace=False, strict_mode=True)
    json_schema_to_gbnf(text)


def test_forced_schema_means_what_the_parameters_meant() -> None:
    schema = HermesFormat().forced_schema(_use())
    good = [
        {"name": "trip", "arguments": {"origin": {"name": "Paris"}, "stops": [{"name": "Lyon"}]}},
        {"name": "route", "arguments": {"to": "Rome"}},
        {"name": "node", "arguments": {"kids": [{"kids": []}]}},
        {"name": "self", "arguments": {"a": 1, "b": 2, "c": {"a": 3}}},
    ]
    bad = [
        {"name": "trip", "arguments": {"origin": {}, "stops": []}},
        {"name": "route", "arguments": {"to": {"name": "Rome"}}},  # the other tool's City
        {"name": "node", "arguments": {"kids": [{}]}},
        {"name": "self", "arguments": {"b": "x"}},
        {"name": "self", "arguments": {"c": {"a": "x"}}},
    ]
    for doc in good:
        jsonschema.validate(doc, schema)
    for doc in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema)


def test_two_tools_with_one_definition_name_keep_theirs() -> None:
    schema = HermesFormat().forced_schema(_use())
    assert schema["$defs"]["City"] == CITY
    other = [v for k, v in schema["$defs"].items() if k.startswith("City_")]
    assert other == [ROUTE["definitions"]["City"]]


def test_parameters_without_references_stay_inline() -> None:
    use = ToolUse((ToolSpec("city", "", json.dumps(CITY)),), "required")
    assert HermesFormat().forced_schema(use)["properties"]["arguments"] == CITY


# --- over HTTP -----------------------------------------------------------------------------------
def _chat(server: ServerProcess, model: str, body: dict) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/chat/completions",
        json={
            "model": model,
            "messages": [{"role": "user", "content": "Go"}],
            "max_tokens": 4,
            **body,
        },
        timeout=120,
    )


def _schema_format(schema: dict) -> dict:
    return {
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    }


def _forced_tool(schema: dict) -> dict:
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    return {"tools": [tool], "tool_choice": "required"}


@pytest.mark.parametrize(("model", "backend"), MODELS)
@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        (_forced_tool({"$ref": "#/$defs/Missing"}), "tools", "'$ref' #/$defs/Missing at #"),
        (
            _schema_format({"properties": {"a": {"$ref": "#/definitions/A"}}}),
            "response_format",
            "'$ref' #/definitions/A at #/properties/a",
        ),
    ],
    ids=["tool-ref-missing", "format-ref-missing"],
)
def test_a_schema_no_grammar_can_follow_is_a_400(
    tools_server: ServerProcess, model: str, backend: str, body: dict, param: str, words: str
) -> None:
    response = _chat(tools_server, model, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and words in error["message"], error
    assert error["type"] == "invalid_request_error"


def test_a_schema_nested_too_deeply_is_a_400(tools_server: ServerProcess) -> None:
    deep: dict = {"type": "integer"}
    for _ in range(400):
        deep = {"type": "array", "items": deep}
    response = _chat(tools_server, "tiny", _schema_format(deep))
    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        # A "$ref" inside data (const) is no reference: xgrammar takes it, the converter tries
        # to resolve it.
        (_forced_tool({"const": {"$ref": "#/x"}}), "tool_choice"),
        # A pattern without ^...$ (xgrammar takes it).
        (_schema_format({"type": "string", "pattern": "[a-z]+"}), "response_format"),
    ],
    ids=["ref-in-const", "unanchored-pattern"],
)
def test_what_the_gbnf_converter_asserts_on_is_a_400(
    tools_server: ServerProcess, body: dict, param: str
) -> None:
    """llama-cpp-python's converter fails an assertion on these: a 500 before."""
    response = _chat(tools_server, "smollm2.gguf", body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and "cannot be turned into a grammar" in error["message"]


@pytest.mark.parametrize(
    ("model", "schema"),
    [
        ("tiny", {"$ref": "#/$defs/Missing"}),
        ("smollm2.gguf", {"$ref": "#/$defs/Missing"}),
        ("smollm2.gguf", {"type": "string", "pattern": "[a-z]+"}),
    ],
    ids=["tiny-ref-missing", "smollm2.gguf-ref-missing", "smollm2.gguf-unanchored-pattern"],
)
def test_anthropic_gets_its_own_error_format(
    tools_server: ServerProcess, model: str, schema: dict
) -> None:
    body = {
        "model": model,
        "max_tokens": 4,
        "messages": [{"role": "user", "content": "Go"}],
        "tools": [
            {
                "name": "f",
                "input_schema": {"type": "object", "properties": {"a": schema}},
            }
        ],
        "tool_choice": {"type": "tool", "name": "f"},
    }
    response = httpx.post(f"{tools_server.url}/v1/messages", json=body, timeout=120)
    assert response.status_code == 400, response.text
    reply = response.json()
    assert reply["type"] == "error" and reply["error"]["type"] == "invalid_request_error"
