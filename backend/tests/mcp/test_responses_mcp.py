"""Remote MCP tools on the Responses API through the official openai SDK, against the test
MCP server over Streamable HTTP (OpenAI's documented items: mcp_list_tools, mcp_call,
mcp_approval_request, and the mcp_approval_response input item)."""

from __future__ import annotations

import json

import openai
import pytest

from tests.helpers.server import ServerProcess
from tests.mcp.fixture_server import FACTS


@pytest.fixture(scope="module")
def client(mcp_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{mcp_server.url}/v1", api_key="unused", max_retries=0)


def facts_tool(url: str, **extra: object) -> dict:
    return {"type": "mcp", "server_label": "facts", "server_url": url, **extra}


FORCE = {"type": "mcp", "server_label": "facts", "name": "lookup"}


def test_mcp_tool_is_called_and_answered(client: openai.OpenAI, http_mcp: str) -> None:
    resp = client.responses.create(
        model="tiny",
        input="Tell me something about Paris.",
        tools=[facts_tool(http_mcp, require_approval="never", allowed_tools=["lookup", "add"])],
        tool_choice=FORCE,  # type: ignore[arg-type]
        max_output_tokens=64,
    )
    kinds = [item.type for item in resp.output]
    assert kinds[:2] == ["mcp_list_tools", "mcp_call"], kinds
    listing, call = resp.output[0], resp.output[1]
    assert listing.type == "mcp_list_tools" and listing.server_label == "facts"
    assert {t.name for t in listing.tools} == {"lookup", "add"}  # the allow-list
    assert call.type == "mcp_call" and call.name == "lookup" and call.error is None
    assert call.output == FACTS[json.loads(call.arguments)["city"]]
    # tiny's answer after the call runs to max_output_tokens: incomplete, as OpenAI says it.
    assert resp.status in ("completed", "incomplete")
    assert resp.usage is not None and resp.usage.input_tokens > 0


def test_approval_across_requests(client: openai.OpenAI, http_mcp: str) -> None:
    tools = [facts_tool(http_mcp, allowed_tools=["lookup"])]  # require_approval: "always"
    first = client.responses.create(
        model="tiny",
        input="Tell me something about Tokyo.",
        tools=tools,
        tool_choice=FORCE,  # type: ignore[arg-type]
        max_output_tokens=64,
    )
    asks = [item for item in first.output if item.type == "mcp_approval_request"]
    assert len(asks) == 1 and asks[0].name == "lookup"
    assert not [item for item in first.output if item.type == "mcp_call"]
    second = client.responses.create(
        model="tiny",
        previous_response_id=first.id,
        input=[
            {"type": "mcp_approval_response", "approval_request_id": asks[0].id, "approve": True}
        ],
        tools=tools,
        max_output_tokens=16,
    )
    calls = [item for item in second.output if item.type == "mcp_call"]
    assert calls and calls[0].approval_request_id == asks[0].id
    assert calls[0].output == FACTS[json.loads(asks[0].arguments)["city"]]
    # The same approval cannot run twice.
    with pytest.raises(openai.BadRequestError):
        client.responses.create(
            model="tiny",
            previous_response_id=second.id,
            input=[
                {
                    "type": "mcp_approval_response",
                    "approval_request_id": asks[0].id,
                    "approve": True,
                }
            ],
            tools=tools,
            max_output_tokens=8,
        )


def test_denied_and_streamed(client: openai.OpenAI, http_mcp: str) -> None:
    tools = [facts_tool(http_mcp, allowed_tools=["lookup"])]
    first = client.responses.create(
        model="tiny",
        input="Paris?",
        tools=tools,
        tool_choice=FORCE,
        max_output_tokens=64,  # type: ignore[arg-type]
    )
    ask = next(item for item in first.output if item.type == "mcp_approval_request")
    second = client.responses.create(
        model="tiny",
        previous_response_id=first.id,
        input=[{"type": "mcp_approval_response", "approval_request_id": ask.id, "approve": False}],
        tools=tools,
        max_output_tokens=8,
    )
    assert not [item for item in second.output if item.type == "mcp_call"]
    assert second.status in ("completed", "incomplete")


def test_streamed_with_the_sdk_helper(client: openai.OpenAI, http_mcp: str) -> None:
    """The openai SDK's stream helper over a streamed response with an mcp tool: the items'
    events in order, the answer's text as deltas, and the final response it assembles."""
    tools = [facts_tool(http_mcp, require_approval="never", allowed_tools=["lookup"])]
    with client.responses.stream(
        model="tiny",
        input="Tell me something about Paris.",
        tools=tools,  # type: ignore[arg-type]
        tool_choice=FORCE,  # type: ignore[arg-type]
        max_output_tokens=64,
    ) as stream:
        seen = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in seen]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    for kind in (
        "response.mcp_list_tools.completed",
        "response.mcp_call.in_progress",
        "response.mcp_call_arguments.done",
        "response.mcp_call.completed",
        "response.output_text.delta",
    ):
        assert kind in kinds, (kind, kinds)
    assert kinds.index("response.mcp_call.completed") < kinds.index("response.output_text.delta")
    call = next(item for item in final.output if item.type == "mcp_call")
    assert call.output == FACTS[json.loads(call.arguments)["city"]]
    message = next(item for item in final.output if item.type == "message")
    deltas = "".join(e.delta for e in seen if e.type == "response.output_text.delta")
    assert message.content[0].text == deltas and deltas
    stored = client.responses.retrieve(final.id)
    assert [i.type for i in stored.output] == [i.type for i in final.output]
