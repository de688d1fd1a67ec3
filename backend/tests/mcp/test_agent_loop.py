"""The agent loop against a real MCP server (the SDK's, in a subprocess) over stdio and HTTP,
on both in-process engines. The first round's call is forced (``tool_choice`` and the
grammar), so the tiny model and SmolLM2 call the tools with valid arguments."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import ServerProcess
from tests.mcp.conftest import FIXTURE, stdio_config
from tests.mcp.fixture_server import FACTS
from tests.tools.conftest import MODELS

CHAT = [{"role": "user", "content": "Tell me something about Paris."}]


def put_server(base: str, name: str, config: dict[str, object]) -> dict:
    r = httpx.put(f"{base}/api/v1/mcp/servers/{name}", json=config, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def events(base: str, body: dict, on_event=None, timeout: float = 180) -> list[tuple[str, dict]]:
    """POST a streamed native chat; every (event, data), calling ``on_event`` as each arrives
    (the approval tests answer mid-stream)."""
    out: list[tuple[str, dict]] = []
    name = None
    with httpx.stream(
        "POST", f"{base}/api/v1/models/generate", json={**body, "stream": True}, timeout=timeout
    ) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:") and name:
                data = json.loads(line[5:])
                out.append((name, data))
                if on_event is not None:
                    on_event(name, data)
                name = None
    return out


def names(evs: list[tuple[str, dict]]) -> list[str]:
    """Event names with runs of tokens folded into one."""
    out: list[str] = []
    for name, _ in evs:
        if not (name == "token" and out and out[-1] == "token"):
            out.append(name)
    return out


def one(evs: list[tuple[str, dict]], name: str) -> dict:
    found = [d for n, d in evs if n == name]
    assert len(found) == 1, (name, names(evs))
    return found[0]


@pytest.fixture(scope="module")
def base(mcp_server: ServerProcess) -> str:
    put_server(mcp_server.url, "facts", stdio_config())
    return mcp_server.url


def test_server_listing_and_secrets_redacted(base: str, tmp_path: Path) -> None:
    put_server(base, "secret", stdio_config(env={"TOKEN": "s3cret"}, disabled=True))
    listed = {s["name"]: s for s in httpx.get(f"{base}/api/v1/mcp/servers").json()}
    assert listed["secret"]["env"] == {"TOKEN": "********"}
    assert "s3cret" not in httpx.get(f"{base}/api/v1/mcp/servers").text
    # Saving the redacted view back keeps the secret (the settings page round-trips it).
    view = listed["secret"]
    saved = put_server(base, "secret", {**stdio_config(), "env": view["env"], "disabled": True})
    assert saved["env"] == {"TOKEN": "********"}
    tools = httpx.get(f"{base}/api/v1/mcp/servers/facts/tools", timeout=60).json()
    assert {t["name"] for t in tools["tools"]} >= {"add", "lookup", "sleep", "fail"}
    lookup = next(t for t in tools["tools"] if t["name"] == "lookup")
    assert lookup["input_schema"]["properties"]["city"]["enum"] == ["paris", "tokyo"]
    r = httpx.post(
        f"{base}/api/v1/models/generate",
        json={"messages": CHAT, "mcp_servers": ["secret"]},
    )
    assert r.status_code == 400 and "disabled" in r.json()["error"]["message"]
    r = httpx.post(
        f"{base}/api/v1/models/generate", json={"messages": CHAT, "mcp_servers": ["nope"]}
    )
    assert r.status_code == 400 and "'nope' is not configured" in r.json()["error"]["message"]
    assert httpx.delete(f"{base}/api/v1/mcp/servers/secret").status_code == 204


@pytest.mark.parametrize(("model", "engine"), MODELS)
def test_loop_calls_the_tool_and_answers(base: str, model: str, engine: str) -> None:
    evs = events(
        base,
        {
            "model": model,
            "messages": CHAT,
            "mcp_servers": ["facts"],
            "tool_choice": "lookup",
            "max_tokens": 64,
            "temperature": 0,
        },
    )
    assert names(evs)[:2] == ["tool_call", "tool_result"], names(evs)
    call, result = one(evs, "tool_call"), one(evs, "tool_result")
    city = json.loads(call["arguments"])["city"]
    assert call["server"] == "facts" and call["tool"] == "lookup"
    assert result["status"] == "ok" and result["content"] == FACTS[city]
    assert result["duration_ms"] > 0
    done = one(evs, "done")
    assert names(evs)[-1] == "done"
    assert done["tool_steps"][0]["result"]["content"] == FACTS[city]
    # Two rounds at least: the forced call, then the answer with the result in the prompt.
    assert done["usage"]["prompt_tokens"] > 0 and done["text"] == "".join(
        d["text"] for n, d in evs if n == "token"
    )


def test_http_transport_and_non_streamed(base: str, http_mcp: str) -> None:
    put_server(base, "remote", {"url": http_mcp})
    r = httpx.post(
        f"{base}/api/v1/models/generate",
        json={
            "model": "smollm2.gguf",
            "messages": [{"role": "user", "content": "What is 2 plus 3? Use the add tool."}],
            "mcp_servers": ["remote"],
            "tool_choice": "add",
            "max_tokens": 64,
            "max_tool_steps": 1,
        },
        timeout=180,
    )
    assert r.status_code == 200, r.text
    step = r.json()["tool_steps"][0]
    args = json.loads(step["call"]["arguments"])
    assert step["call"]["server"] == "remote"
    assert step["result"]["status"] == "ok"
    assert int(step["result"]["content"]) == args["a"] + args["b"]


def test_tool_error_goes_back_to_the_model(base: str) -> None:
    evs = events(
        base,
        {"messages": CHAT, "mcp_servers": ["facts"], "tool_choice": "fail", "max_tokens": 64},
    )
    result = one(evs, "tool_result")
    assert result["status"] == "error" and "failed on purpose" in result["content"]
    assert names(evs)[-1] == "done"


def test_long_result_is_cut_with_a_note(base: str) -> None:
    evs = events(
        base,
        {"messages": CHAT, "mcp_servers": ["facts"], "tool_choice": "big", "max_tokens": 64},
    )
    result = one(evs, "tool_result")
    assert result["truncated"] is True
    assert "[result cut: 8000 of 50000 characters shown]" in result["content"]


def test_a_server_that_never_answers_times_out(base: str) -> None:
    started = time.monotonic()
    evs = events(
        base,
        {
            "messages": CHAT,
            "mcp_servers": ["facts"],
            "tool_choice": "sleep",
            "max_tokens": 64,
            "max_tool_steps": 1,
        },
    )
    result = one(evs, "tool_result")  # the tool sleeps 30 s, the server's call timeout is 4 s
    assert result["status"] == "timeout" and "did not answer within 4 s" in result["content"]
    assert names(evs)[-1] == "done"
    assert time.monotonic() - started < 120


def test_server_killed_mid_call_ends_the_loop(base: str, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    put_server(base, "mortal", stdio_config("--pidfile", str(pidfile)))
    killer_done = threading.Event()

    def on_event(name: str, data: dict) -> None:
        if name == "tool_call":
            time.sleep(0.5)
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
            killer_done.set()

    evs = events(
        base,
        {
            "messages": CHAT,
            "mcp_servers": ["mortal"],
            "tool_choice": "sleep",
            "max_tokens": 64,
        },
        on_event,
        timeout=60,
    )
    assert killer_done.is_set()
    assert names(evs)[-1] == "error", evs
    error = one(evs, "error")["error"]
    assert error["code"] == "mcp_unavailable" and "mortal" in error["message"]
    # The next chat starts the server again (reconnect after a failure).
    evs = events(
        base,
        {"messages": CHAT, "mcp_servers": ["mortal"], "tool_choice": "lookup", "max_tokens": 64},
    )
    assert one(evs, "tool_result")["status"] == "ok"


@pytest.mark.parametrize("approve", [True, False])
def test_approval(base: str, approve: bool) -> None:
    put_server(base, "careful", stdio_config(approval="ask"))
    decided: list[int] = []

    def on_event(name: str, data: dict) -> None:
        if name == "approval_request":
            r = httpx.post(
                f"{base}/api/v1/mcp/approvals/{data['approval_id']}",
                json={"approve": approve},
            )
            decided.append(r.status_code)

    evs = events(
        base,
        {"messages": CHAT, "mcp_servers": ["careful"], "tool_choice": "lookup", "max_tokens": 64},
        on_event,
    )
    assert decided == [204]
    assert names(evs)[:3] == ["tool_call", "approval_request", "tool_result"]
    result = one(evs, "tool_result")
    if approve:
        assert result["status"] == "ok" and result["content"] in FACTS.values()
    else:
        assert result["status"] == "denied" and "denied" in result["content"]
    assert names(evs)[-1] == "done"
    # A decided approval cannot be decided again.
    approval_id = one(evs, "approval_request")["approval_id"]
    r = httpx.post(f"{base}/api/v1/mcp/approvals/{approval_id}", json={"approve": True})
    assert r.status_code == 404
    # Without a stream nobody could see the approval request: refused up front.
    r = httpx.post(
        f"{base}/api/v1/models/generate",
        json={"messages": CHAT, "mcp_servers": ["careful"]},
    )
    assert r.status_code == 400 and "stream=true" in r.json()["error"]["message"]


def test_bad_input(base: str) -> None:
    gen = f"{base}/api/v1/models/generate"
    r = httpx.post(gen, json={"prompt": "hi", "mcp_servers": ["facts"]})
    assert r.status_code == 422 or r.status_code == 400
    r = httpx.post(gen, json={"messages": CHAT, "mcp_servers": ["facts"], "tool_choice": "nah"})
    assert r.status_code == 400 and "tool_choice names 'nah'" in r.json()["error"]["message"]
    r = httpx.put(f"{base}/api/v1/mcp/servers/bad", json={"command": "x", "url": "http://a/"})
    assert r.status_code in (400, 422)
    r = httpx.put(f"{base}/api/v1/mcp/servers/bad%20name", json={"command": "x"})
    assert r.status_code == 400
    # A server that cannot start: a clear 424 naming it, nothing hangs.
    put_server(base, "broken", {"command": str(FIXTURE.with_name("no-such-program"))})
    r = httpx.post(gen, json={"messages": CHAT, "mcp_servers": ["broken"]}, timeout=60)
    assert r.status_code == 424 and "'broken'" in r.json()["error"]["message"]


def test_address_guard_refuses_loopback_by_default(server: ServerProcess, http_mcp: str) -> None:
    """The default server (MP_MCP_ALLOW_PRIVATE_URLS off) will not reach an MCP server on
    127.0.0.1, as URL downloads will not."""
    r = httpx.post(f"{server.url}/api/v1/mcp/test", json={"url": http_mcp}, timeout=60)
    assert r.status_code == 424
    assert "loopback" in r.json()["error"]["message"]


def test_many_tools_are_routed(base: str) -> None:
    """105 tools enabled (over the threshold of 24): the turn offers the 8 closest to the
    question, the weather tools among them, and says how many prompt tokens that saved."""
    put_server(base, "many", stdio_config("--many", "100"))
    evs = events(
        base,
        {
            "messages": [{"role": "user", "content": "Will it rain tomorrow? Check the weather."}],
            "mcp_servers": ["many"],
            "max_tokens": 8,
            "max_tool_steps": 1,
        },
    )
    routing = one(evs, "tool_routing")
    assert routing["enabled_tools"] == 105
    assert len(routing["offered"]) == 8
    assert any(name.startswith("weather_") for name in routing["offered"]), routing
    assert routing["prompt_tokens_saved"] > 2000
    assert one(evs, "done")["tool_routing"] == routing
