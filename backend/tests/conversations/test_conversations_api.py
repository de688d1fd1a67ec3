"""Conversations over real HTTP against the tiny model: CRUD, streamed answers stored with
their figures, regenerate, edit-and-resend, export, stop keeps the partial answer exactly as
streamed, a dropped connection does not stop the answer and a reconnect with Last-Event-ID gets
the rest, 409 while answering, 404 for unknown ids, and persistence across a server restart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.server import ServerProcess, tiny_server

# Short, deterministic answers keep the module quick on a 2-core machine.
FAST = {"max_tokens": 12, "temperature": 0.0}
# The tiny model runs to max_tokens with these (no early end of text), for a long stream.
LONG = {"max_tokens": 1000, "temperature": 2.0, "seed": 3}


def sse(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """(event, data) pairs of a server-sent-event response."""
    name = "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line.split(":", 1)[1].strip())
            name = "message"


def sse_ids(response: httpx.Response) -> Iterator[tuple[str, str | None, dict]]:
    """(event, id, data) triples; the id is the last one seen, as a browser keeps it."""
    name, last_id = "message", None
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("id:"):
            last_id = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield name, last_id, json.loads(line.split(":", 1)[1].strip())
            name = "message"


def stream_answer(
    client: httpx.Client, method: str, url: str, body: dict
) -> list[tuple[str, dict]]:
    with client.stream(method, url, json=body) as response:
        assert response.status_code == 200, response.read()
        return list(sse(response))


def new_conversation(client: httpx.Client, **body: object) -> dict:
    response = client.post("/api/v1/conversations", json={"model": "tiny", **body})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def test_send_streams_and_stores_the_answer_with_its_figures(client: httpx.Client) -> None:
    conv = new_conversation(client, system="You write Python.")
    assert conv["title"] == "New conversation" and conv["messages"] == []
    events = stream_answer(
        client,
        "POST",
        f"/api/v1/conversations/{conv['id']}/messages",
        {"content": "def add(a, b):", **FAST},
    )
    names = [name for name, _ in events]
    assert names[0] == "message" and names[-1] == "done" and "token" in names
    user, answer = events[0][1], events[-1][1]
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert answer["content"] == streamed and streamed

    stored = client.get(f"/api/v1/conversations/{conv['id']}").json()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
    assert stored["messages"][0]["id"] == user["id"]
    assert stored["title"] == "def add(a, b):"  # from the first message
    saved = stored["messages"][1]
    assert saved == answer
    assert saved["model"] == "tiny" and saved["backend"] == "transformers"
    assert saved["parameters"]["max_tokens"] == 12 and saved["parameters"]["temperature"] == 0
    assert saved["finish_reason"] in ("stop", "length")
    figures = saved["figures"]
    assert figures["completion_tokens"] > 0 and figures["prompt_tokens"] > 0
    assert figures["ttft_ms"] > 0 and figures["total_ms"] >= figures["ttft_ms"]

    # A second turn answers with the whole history: more prompt tokens than the first.
    body = {"content": "def sub(a, b):", "stream": False, **FAST}
    second = client.post(f"/api/v1/conversations/{conv['id']}/messages", json=body)
    assert second.status_code == 200, second.text
    assert second.json()["figures"]["prompt_tokens"] > figures["prompt_tokens"]
    assert client.get(f"/api/v1/conversations/{conv['id']}").json()["message_count"] == 4


def test_list_search_rename_export_delete(client: httpx.Client) -> None:
    conv = new_conversation(client, title="Parser notes")
    client.post(
        f"/api/v1/conversations/{conv['id']}/messages",
        json={"content": "class TokenizerZebra:", "stream": False, **FAST},
    )
    other = new_conversation(client, title="Unrelated")

    ids = [c["id"] for c in client.get("/api/v1/conversations").json()["data"]]
    assert ids.index(other["id"]) < ids.index(conv["id"])  # most recent first
    by_title = client.get("/api/v1/conversations", params={"q": "parser"}).json()["data"]
    by_content = client.get("/api/v1/conversations", params={"q": "Zebra"}).json()["data"]
    assert [c["id"] for c in by_title] == [conv["id"]]
    assert [c["id"] for c in by_content] == [conv["id"]]
    assert client.get("/api/v1/conversations", params={"q": "100%_"}).json()["data"] == []

    renamed = client.patch(f"/api/v1/conversations/{conv['id']}", json={"title": "Lexer"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Lexer"
    assert renamed.json()["message_count"] == 2  # renaming keeps the messages
    unchanged = client.patch(f"/api/v1/conversations/{conv['id']}", json={"title": None})
    assert unchanged.status_code == 200 and unchanged.json()["title"] == "Lexer"

    md = client.get(f"/api/v1/conversations/{conv['id']}/export")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert 'filename="Lexer.md"' in md.headers["content-disposition"]
    assert md.text.startswith("# Lexer\n") and "## User\n\nclass TokenizerZebra:" in md.text
    assert "## Assistant" in md.text and "tiny on transformers" in md.text
    exported = client.get(f"/api/v1/conversations/{conv['id']}/export", params={"format": "json"})
    assert exported.json() == client.get(f"/api/v1/conversations/{conv['id']}").json()

    assert client.delete(f"/api/v1/conversations/{conv['id']}").status_code == 204
    assert client.get(f"/api/v1/conversations/{conv['id']}").status_code == 404
    assert conv["id"] not in [c["id"] for c in client.get("/api/v1/conversations").json()["data"]]


def test_regenerate_and_edit_and_resend(client: httpx.Client) -> None:
    conv = new_conversation(client)
    url = f"/api/v1/conversations/{conv['id']}"
    for content in ("import os", "import sys"):
        client.post(f"{url}/messages", json={"content": content, "stream": False, **FAST})
    before = client.get(url).json()["messages"]
    assert [m["content"] for m in before[::2]] == ["import os", "import sys"]

    events = stream_answer(
        client, "POST", f"{url}/regenerate", {"max_tokens": 8, "temperature": 1.5, "seed": 7}
    )
    assert [n for n, _ in events][0] == "token"  # no new user message
    after = client.get(url).json()["messages"]
    assert len(after) == 4 and after[:3] == before[:3]
    assert after[3]["id"] == events[-1][1]["id"] != before[3]["id"]
    assert after[3]["parameters"]["seed"] == 7

    edited = stream_answer(
        client, "PUT", f"{url}/messages/{before[0]['id']}", {"content": "import json", **FAST}
    )
    messages = client.get(url).json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]  # later turns dropped
    assert messages[0]["content"] == "import json" and messages[0]["id"] == edited[0][1]["id"]
    assert messages[1]["id"] == edited[-1][1]["id"]

    bad = client.put(f"{url}/messages/{messages[1]['id']}", json={"content": "x", **FAST})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "message_id"


def test_unknown_ids_are_404_in_the_error_envelope(client: httpx.Client) -> None:
    missing = "/api/v1/conversations/conv_missing"
    for method, url, body in [
        ("GET", missing, None),
        ("PATCH", missing, {"title": "x"}),
        ("DELETE", missing, None),
        ("POST", f"{missing}/messages", {"content": "hi"}),
        ("POST", f"{missing}/regenerate", {}),
        ("PUT", f"{missing}/messages/msg_x", {"content": "hi"}),
        ("GET", f"{missing}/export", None),
    ]:
        response = client.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
        error = response.json()["error"]
        assert error["type"] == "not_found_error" and "conv_missing" in error["message"]
    conv = new_conversation(client)
    response = client.put(
        f"/api/v1/conversations/{conv['id']}/messages/msg_x", json={"content": "hi"}
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "message_not_found"
    empty = client.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": ""})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "content"
    nothing = client.post(f"/api/v1/conversations/{conv['id']}/regenerate", json={})
    assert nothing.status_code == 400
    wrong_model = client.post(
        f"/api/v1/conversations/{conv['id']}/messages",
        json={"content": "hi", "model": "no-such-model"},
    )
    assert wrong_model.status_code == 404
    # A refused answer writes nothing: no orphan user message.
    assert client.get(f"/api/v1/conversations/{conv['id']}").json()["messages"] == []


def test_busy_conversation_refuses_changes_and_a_stop_keeps_the_partial_answer(
    client: httpx.Client,
) -> None:
    conv = new_conversation(client)
    url = f"/api/v1/conversations/{conv['id']}"
    streamed, first_user = "", ""
    with (
        httpx.Client(base_url=client.base_url, timeout=120) as streamer,
        streamer.stream(
            "POST", f"{url}/messages", json={"content": "class Node:", **LONG}
        ) as response,
    ):
        events = sse(response)  # kept: a closed iterator would close the connection
        for name, data in events:
            if name == "message":
                first_user = data["id"]
            if name == "token":
                streamed += data["text"]
                break
        assert client.get(url).json()["generating"] is True
        for method, path, body in [
            ("PUT", f"{url}/messages/{first_user}", {"content": "y = 2"}),
            ("POST", f"{url}/messages", {"content": "more"}),
            ("POST", f"{url}/regenerate", {}),
            ("DELETE", url, None),
        ]:
            refused = client.request(method, path, json=body)
            assert refused.status_code == 409, (method, path, refused.text)
            assert refused.json()["error"]["code"] == "conversation_busy"
        # Renaming does not touch the messages, so it is allowed meanwhile.
        assert client.patch(url, json={"title": "Busy"}).status_code == 200
        # Stop: an explicit cancel (leaving the stream does not stop the answer).
        assert client.post(f"{url}/cancel").status_code == 204
    state = client.get(url).json()
    assert state["generating"] is False  # the cancel returns once the answer is saved
    answer = state["messages"][-1]
    assert answer["role"] == "assistant" and answer["finish_reason"] == "cancelled"
    assert answer["content"].startswith(streamed)
    assert 0 < answer["figures"]["completion_tokens"] < 1000
    # Stop with nothing running does nothing.
    assert client.post(f"{url}/cancel").status_code == 204
    # And the conversation accepts changes again.
    again = client.put(
        f"{url}/messages/{first_user}", json={"content": "y = 2", "stream": False, **FAST}
    )
    assert again.status_code == 200


def test_a_stop_keeps_exactly_what_was_streamed_with_its_figures(client: httpx.Client) -> None:
    """Bug 9: the answer shown when Stop was pressed and the one stored must be the same
    (before, the client dropped the connection and the server stored tokens it never sent)."""
    conv = new_conversation(client)
    url = f"/api/v1/conversations/{conv['id']}"
    streamed, shown, done = "", 0, None
    with client.stream("POST", f"{url}/messages", json={"content": "Once", **LONG}) as response:
        events = sse_ids(response)
        for name, _, data in events:
            if name == "token":
                streamed += data["text"]
                shown += 1
                if shown == 5:
                    assert client.post(f"{url}/cancel").status_code == 204
            elif name == "done":
                done = data
    stored = client.get(url).json()["messages"][-1]
    assert done == stored and stored["finish_reason"] == "cancelled"
    assert stored["content"] == streamed
    figures = stored["figures"]
    assert 5 <= figures["completion_tokens"] < 1000
    assert figures["ttft_ms"] > 0 and figures["tokens_per_second"] > 0


def test_a_dropped_connection_finishes_the_answer_and_a_reconnect_gets_the_rest(
    client: httpx.Client,
) -> None:
    """Bug 12: a client that goes away does not stop the answer; reconnecting with the last
    event id gives exactly the rest, and attaching without one gives all of it."""
    conv = new_conversation(client)
    url = f"/api/v1/conversations/{conv['id']}"
    body = {"content": "Once", **LONG, "max_tokens": 300}
    first, last_id = "", None
    with (
        httpx.Client(base_url=client.base_url, timeout=120) as leaver,
        leaver.stream("POST", f"{url}/messages", json=body) as response,
    ):
        for name, event_id, data in sse_ids(response):
            if name == "token":
                first += data["text"]
                last_id = event_id
                if len(first) > 20:
                    break
    assert last_id == str(len(first))  # ids are offsets into the answer
    rest, done = "", None
    with client.stream("GET", f"{url}/stream", headers={"Last-Event-ID": last_id}) as response:
        assert response.status_code == 200
        for name, _, data in sse_ids(response):
            assert name in ("token", "done"), name  # no user message again
            if name == "token":
                rest += data["text"]
            else:
                done = data
    assert done is not None and done["finish_reason"] == "length"
    assert done["figures"]["completion_tokens"] == 300
    assert first + rest == done["content"]
    assert client.get(url).json()["messages"][-1] == done
    # A page reloaded meanwhile attaches without an id: the user message and all the text.
    with client.stream("GET", f"{url}/stream") as response:
        names, text = [], ""
        for name, _, data in sse_ids(response):
            names.append(name)
            text += data["text"] if name == "token" else ""
    assert names[0] == "message" and names[-1] == "done" and text == done["content"]
    # An id that is not a position in the answer is refused in the envelope.
    bad = client.get(f"{url}/stream", headers={"Last-Event-ID": "99999"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "Last-Event-ID"


def test_stream_without_an_answer_is_204(client: httpx.Client) -> None:
    conv = new_conversation(client)
    assert client.get(f"/api/v1/conversations/{conv['id']}/stream").status_code == 204
    assert client.get("/api/v1/conversations/nope/stream").status_code == 404
    assert client.post("/api/v1/conversations/nope/cancel").status_code == 404


def test_conversations_survive_a_restart(tmp_path: Path, models_dir: Path) -> None:
    proc = tiny_server(models_dir, tmp_path).start()
    try:
        with httpx.Client(base_url=proc.url, timeout=120) as c:
            conv = new_conversation(c, system="Be brief.")
            c.post(
                f"/api/v1/conversations/{conv['id']}/messages",
                json={"content": "def f():", "stream": False, **FAST},
            )
            before = c.get(f"/api/v1/conversations/{conv['id']}").json()
        proc.stop()
        proc.start()
        with httpx.Client(base_url=proc.url, timeout=120) as c:
            after = c.get(f"/api/v1/conversations/{conv['id']}").json()
            assert after == before and len(after["messages"]) == 2
            # ...and it continues from the stored history.
            more = c.post(
                f"/api/v1/conversations/{conv['id']}/messages",
                json={"content": "def g():", "stream": False, **FAST},
            )
            assert more.status_code == 200
            assert c.get(f"/api/v1/conversations/{conv['id']}").json()["message_count"] == 4
    finally:
        proc.stop()
