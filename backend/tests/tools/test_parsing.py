"""Tool-call parsers per template family, the streaming output parser and the schema check
(no model needed)."""

from __future__ import annotations

import json

import pytest

from app.backends.base import ToolCallDelta, ToolSpec, ToolUse
from app.core.errors import InvalidRequest
from app.services.tools.formats import format_for_template
from app.services.tools.hermes import HermesFormat
from app.services.tools.llama3 import Llama3Format
from app.services.tools.mistral import MistralFormat
from app.services.tools.output import Content, OutputPlan, Reasoning
from app.services.tools.schema_check import check_schema

CALL = '{"name": "f", "arguments": {"x": 1}}'


@pytest.mark.parametrize(
    ("fmt", "text", "calls"),
    [
        (HermesFormat(), f"<tool_call>\n{CALL}\n</tool_call>", [("f", {"x": 1})]),
        (
            HermesFormat(),
            f"<tool_call>{CALL}</tool_call>\n<tool_call>{CALL}</tool_call>",
            [("f", {"x": 1}), ("f", {"x": 1})],
        ),
        (HermesFormat(), "<tool_call>{not json</tool_call>", []),
        (Llama3Format(), '<|python_tag|>{"name": "f", "parameters": {"x": 1}}', [("f", {"x": 1})]),
        (
            Llama3Format(),
            '{"name": "f", "parameters": {}}; {"name": "g", "parameters": {}}',
            [("f", {}), ("g", {})],
        ),
        (MistralFormat(), f"[TOOL_CALLS][{CALL}]", [("f", {"x": 1})]),
        (MistralFormat(), f"[{CALL}, {CALL}]", [("f", {"x": 1}), ("f", {"x": 1})]),
    ],
)
def test_family_parsers(fmt, text: str, calls: list) -> None:
    assert [(c.name, json.loads(c.arguments)) for c in fmt.parse(text)] == calls


def test_family_from_template() -> None:
    assert format_for_template("{{ '<tool_call>' }}").name == "hermes"
    assert format_for_template("[TOOL_CALLS]").name == "mistral"
    assert format_for_template("<|python_tag|>{{ x }}").name == "llama3_json"
    assert format_for_template("plain ChatML").name == "hermes"


def _stream(plan: OutputPlan, text: str, step: int) -> tuple[str, str, list]:
    parser = plan.parser()
    pieces = []
    for at in range(0, len(text), step):
        pieces += parser.feed_event(_event(text[at : at + step]))
    pieces += parser.finish()
    content = "".join(p.text for p in pieces if isinstance(p, Content))
    reasoning = "".join(p.text for p in pieces if isinstance(p, Reasoning))
    return content, reasoning, [p for p in pieces if isinstance(p, ToolCallDelta)]


def _event(text: str):
    from app.backends.base import TokenEvent

    return TokenEvent(text)


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
def test_stream_splits_reasoning_content_and_calls(step: int) -> None:
    text = f"<think>plan it</think>\n\nSure.\n<tool_call>\n{CALL}\n</tool_call>"
    content, reasoning, deltas = _stream(OutputPlan(fmt=HermesFormat()), text, step)
    assert reasoning == "plan it" and content == "Sure."
    assert deltas[0].id and deltas[0].name == "f" and deltas[0].index == 0
    assert json.loads("".join(d.arguments for d in deltas)) == {"x": 1}


@pytest.mark.parametrize("step", [1, 4, 1000])
def test_text_that_only_looks_like_a_call_stays_content(step: int) -> None:
    text = "a <tool_ maybe, <tool_call> broken"
    content, reasoning, deltas = _stream(OutputPlan(fmt=HermesFormat()), text, step)
    assert content == text and not deltas and not reasoning


def test_forced_prefix_is_part_of_the_call() -> None:
    plan = OutputPlan(fmt=HermesFormat(), forced_prefix="<tool_call>\n", reasoning=False)
    content, _, deltas = _stream(plan, CALL, 5)
    assert content == "" and deltas[0].name == "f"


def test_forced_schema_names_only_the_chosen_tool() -> None:
    tools = (ToolSpec("a", "", '{"type": "object"}'), ToolSpec("b", "", '{"type": "object"}'))
    schema = HermesFormat().forced_schema(ToolUse(tools, "function", "b"))
    assert schema["properties"]["name"] == {"type": "string", "enum": ["b"]}
    assert len(HermesFormat().forced_schema(ToolUse(tools, "required"))["anyOf"]) == 2


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "objekt"}, "not a valid JSON schema"),
        ({"type": "object", "properties": {"a": {"not": {}}}}, "'not' at #/properties/a"),
        ({"anyOf": [{"$ref": "https://example.com/s.json"}]}, "another document"),
        ([], "must be a JSON object"),
    ],
)
def test_schema_check_names_the_problem(schema, words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_schema(schema, "tools")
    assert caught.value.param == "tools" and words in caught.value.message
