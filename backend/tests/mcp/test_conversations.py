"""Conversations whose answers use MCP tools, against the test MCP server over stdio on the
tiny model (its call forced with ``tool_choice``): the stream's tool events, the calls and
results saved as messages and returned by GET, a re-attach that replays the tool events, the
history fed back on the next turn, and an approval asked and answered mid-stream."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conversations.test_conversations_api import sse_ids
from tests.helpers.server import ServerProcess
from tests.mcp.conftest import stdio_config
from tests.mcp.fixture_server import FACTS
from tests.mcp.test_agent_loop import put_server

ASK = "Tell me something about Paris."
TOOLS = {"tool_choice": "lookup", "max_tokens": 64, "temperature": 0.0}


@pytest.fixture(scope="module")
def client(mcp_server: ServerProcess) -> Iterator[httpx.Client]:
    put_server(mcp_server.url, "conv-facts", stdio_config())
    put_server(mcp_server.url, "conv-careful", stdio_config(approval="ask"))
    with httpx.Client(base_url=mcp_server.url, timeout=180) as c:
        yield c


def answer(
    client: httpx.Client, url: str, body: dict, on_event=None
) -> list[tuple[str, str | None, dict]]:
    out = []
    with client.stream("POST", url, json=body) as response:
        assert response.status_code == 200, response.read()
        for name, event_id, data in sse_ids(response):
            out.append((name, event_id, data))
            if on_event is not None:
                on_event(name, data)
    return out


def kinds(events: list[tuple[str, str | None, dict]]) -> list[str]:
    out: list[str] = []
    for name, _, _ in events:
        if not (name == "token" and out and out[-1] == "token"):
            out.append(name)
    return out


def test_tool_calls_stream_are_saved_and_feed_the_next_turn(client: httpx.Client) -> None:
    conv = client.post("/api/v1/conversations", json={"model": "tiny"}).json()
    url = f"/api/v1/conversations/{conv['id']}"
    body = {"content": ASK, "mcp_servers": ["conv-facts"], **TOOLS}
    events = answer(client, f"{url}/messages", body)
    assert kinds(events)[:3] == ["message", "tool_call", "tool_result"], kinds(events)
    assert kinds(events)[-1] == "done"
    (call,) = [d for n, _, d in events if n == "tool_call"]
    (result,) = [d for n, _, d in events if n == "tool_result"]
    city = json.loads(call["arguments"])["city"]
    assert (call["server"], call["tool"]) == ("conv-facts", "lookup")
    assert result["status"] == "ok" and result["content"] == FACTS[city]
    # Tool events carry "offset.index" ids, between the text pieces' offsets.
    assert [i for n, i, _ in events if n.startswith("tool_")] == ["0.0", "0.1"]
    done = events[-1][2]
    streamed = "".join(d["text"] for n, _, d in events if n == "token")
    assert done["role"] == "assistant" and done["content"] == streamed
    assert done["parameters"]["mcp_servers"] == ["conv-facts"]

    stored = client.get(url).json()
    user, calling, tool, final = stored["messages"]
    assert user["role"] == "user" and user["content"] == ASK
    assert calling["role"] == "assistant" and calling["finish_reason"] == "tool_calls"
    assert calling["tool_calls"] == [
        {
            "id": call["id"],
            "server": "conv-facts",
            "tool": "lookup",
            "name": "lookup",
            "arguments": call["arguments"],
        }
    ]
    assert tool["role"] == "tool" and tool["tool_call_id"] == call["id"]
    assert tool["content"] == FACTS[city]
    assert tool["tool_result"]["status"] == "ok" and tool["tool_result"]["duration_ms"] > 0
    assert final["id"] == done["id"] and final["figures"]["prompt_tokens"] > 0

    # Re-attaching replays the tool events; after "0.0" only the ones after it.
    with client.stream("GET", f"{url}/stream") as r:
        assert [n for n, _, _ in sse_ids(r) if n.startswith("tool_")] == [
            "tool_call",
            "tool_result",
        ]
    with client.stream("GET", f"{url}/stream", headers={"Last-Event-ID": "0.0"}) as r:
        replay = [n for n, _, _ in sse_ids(r)]
    assert "tool_call" not in replay and "tool_result" in replay and replay[-1] == "done"
    bad = client.get(f"{url}/stream", headers={"Last-Event-ID": "0.9"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "Last-Event-ID"

    # The next turn (no tools) gets the calls and results as history: its prompt is the
    # whole exchange as the chat template renders it.
    second = client.post(
        f"{url}/messages",
        json={"content": "Thanks!", "stream": False, "max_tokens": 4, "temperature": 0.0},
    )
    assert second.status_code == 200, second.text
    history = [
        {"role": "user", "content": ASK},
        {
            "role": "assistant",
            "content": calling["content"],
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": "lookup", "arguments": call["arguments"]},
                }
            ],
        },
        {"role": "tool", "content": FACTS[city], "tool_call_id": call["id"]},
        {"role": "assistant", "content": final["content"]},
        {"role": "user", "content": "Thanks!"},
    ]
    tokens = client.post("/tokenize", json={"model": "tiny", "messages": history})
    assert tokens.status_code == 200, tokens.text
    assert second.json()["figures"]["prompt_tokens"] == tokens.json()["count"]
    roles = [m["role"] for m in client.get(url).json()["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "user", "assistant"]


@pytest.mark.parametrize("approve", [True, False])
def test_an_approval_is_asked_in_the_stream(client: httpx.Client, approve: bool) -> None:
    conv = client.post("/api/v1/conversations", json={"model": "tiny"}).json()
    url = f"/api/v1/conversations/{conv['id']}"

    def decide(name: str, data: dict) -> None:
        if name == "approval_request":
            r = client.post(
                f"/api/v1/mcp/approvals/{data['approval_id']}", json={"approve": approve}
            )
            assert r.status_code == 204, r.text

    body = {"content": ASK, "mcp_servers": ["conv-careful"], **TOOLS}
    events = answer(client, f"{url}/messages", body, decide)
    assert kinds(events)[:4] == ["message", "tool_call", "approval_request", "tool_result"]
    (result,) = [d for n, _, d in events if n == "tool_result"]
    assert result["status"] == ("ok" if approve else "denied")
    tool = client.get(url).json()["messages"][2]
    assert tool["tool_result"]["status"] == result["status"]


def test_bad_tool_requests_are_400_and_store_nothing(client: httpx.Client) -> None:
    conv = client.post("/api/v1/conversations", json={"model": "tiny"}).json()
    url = f"/api/v1/conversations/{conv['id']}"
    cases = [
        ({"mcp_servers": ["nope"]}, "'nope' is not configured"),
        ({"mcp_servers": ["conv-facts"], "tool_choice": "missing"}, "tool_choice"),
        ({"tool_choice": "lookup"}, "need 'mcp_servers'"),
        ({"mcp_servers": ["conv-careful"], "stream": False}, "stream=true"),
    ]
    for extra, message in cases:
        r = client.post(f"{url}/messages", json={"content": ASK, **extra})
        assert r.status_code in (400, 422), r.text
        assert message in r.json()["error"]["message"], r.text
    assert client.get(url).json()["messages"] == []
