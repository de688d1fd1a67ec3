"""``playground chat [MODEL]``: a terminal chat like ``ollama run``.

It talks to a running server over HTTP (``--url``), or, when none answers at the default
address, starts the app in this process on a free 127.0.0.1 port and talks to that. Answers
stream from ``POST /api/v1/models/generate`` (the same generation path as every API); the
conversation lives in this process and is sent whole each turn, as ``ollama run`` does.

Input is read with :func:`input` (the standard library's ``readline`` gives line editing and
history where it is available); nothing more is needed for a line-oriented chat.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
HELP = """Commands:
  /clear          forget the conversation (the system prompt stays)
  /system TEXT    set the system prompt (/system alone clears it)
  /model NAME     switch model (/model alone lists the local models)
  /help           this help
  /bye            quit (Ctrl+D too)
Start a message with \"\"\" to write several lines; end it with \"\"\".
Ctrl+C stops an answer; at the prompt it clears the line."""


class ChatError(Exception):
    """A problem to show the user in one line (server unreachable, unknown model...)."""


@dataclass
class ChatSession:
    """The conversation and settings of one terminal chat, and the HTTP calls it makes."""

    client: httpx.Client
    model: str
    system: str = ""
    params: dict[str, object] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)

    def local_models(self) -> list[str]:
        response = self.client.get("/api/v1/models")
        _raise_for_error(response)
        return [m["id"] for m in response.json()["local"]]

    def ask(self, text: str, write: Callable[[str], None]) -> dict | None:
        """Send ``text``, write the answer as it streams and return the final ``done`` payload
        (None if stopped). Ctrl+C (KeyboardInterrupt) closes the stream, which stops the
        generation on the server; the partial answer stays in the conversation."""
        self.messages.append({"role": "user", "content": text})
        body: dict[str, object] = {
            "model": self.model,
            "messages": self.messages,
            "stream": True,
            **self.params,
        }
        if self.system:
            body["system"] = self.system
        answer = ""
        try:
            with self.client.stream("POST", "/api/v1/models/generate", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    _raise_for_error(response)
                for name, data in _events(response.iter_lines()):
                    if name == "token":
                        answer += data["text"]
                        write(data["text"])
                    elif name == "done":
                        return data
                    elif name == "error":
                        raise ChatError(data["error"]["message"])
            return None
        except ChatError:
            if not answer:
                self.messages.pop()  # nothing was answered: the message can be sent again
            raise
        finally:
            if answer:
                self.messages.append({"role": "assistant", "content": answer})


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    name = "message"
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line.split(":", 1)[1].strip())
            name = "message"


def _raise_for_error(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200] or response.reason_phrase
    raise ChatError(f"{response.status_code}: {message}")


def figures_line(done: dict) -> str:
    """One line of figures under an answer: tokens, speed, TTFT, backend."""
    usage, timings = done.get("usage") or {}, done.get("timings") or {}
    parts = [f"{usage.get('completion_tokens', 0)} tokens"]
    if timings.get("tokens_per_second"):
        parts.append(f"{timings['tokens_per_second']:.1f} tok/s")
    if timings.get("ttft_ms") is not None:
        parts.append(f"TTFT {timings['ttft_ms']:.0f} ms")
    parts.append(f"{done.get('model')} on {timings.get('backend')}")
    return " · ".join(parts)


def read_message(prompt: Callable[[str], str]) -> str:
    """One message: a line, or a block between lines starting and ending with \"\"\"."""
    first = prompt(">>> ")
    if not first.lstrip().startswith('"""'):
        return first
    text = first.lstrip()[3:]
    if text.rstrip().endswith('"""') and text.strip():
        return text.rstrip()[:-3].strip("\n")
    lines = [text] if text else []
    while True:
        line = prompt("... ")
        if line.rstrip().endswith('"""'):
            lines.append(line.rstrip()[:-3])
            return "\n".join(lines).strip("\n")
        lines.append(line)


class InProcessServer:
    """The app served by uvicorn in a background thread of this process, on 127.0.0.1."""

    def __init__(self, port: int = 0) -> None:
        import uvicorn

        from app.core.config import get_settings
        from app.main import create_app

        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # taken by something that is not our server: any free port
                sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        settings = get_settings().model_copy(update={"host": "127.0.0.1", "port": self.port})
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="chat-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> InProcessServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ChatError("the in-process server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def server_answers(url: str, headers: dict[str, str]) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/health", headers=headers, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def run_chat(
    model: str | None,
    url: str | None,
    api_key: str | None,
    system: str | None,
    params: dict[str, object],
    start_server: bool | None = None,
    out: TextIO = sys.stdout,
    prompt: Callable[[str], str] = input,
) -> int:
    """The chat loop; returns the exit status. ``start_server``: when nothing answers at the
    URL, serve the app in this process (on that port when it is free); default: only when
    no URL was given."""
    # readline gives input() line editing and history; not on every platform.
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    local: InProcessServer | None = None
    target = (url or DEFAULT_URL).rstrip("/")
    if not server_answers(target, headers):
        if not (url is None if start_server is None else start_server):
            print(f"No server answers at {target}.", file=sys.stderr)
            return 1
        print(f"No server at {target}; starting one in this process...", file=out, flush=True)
        parsed = httpx.URL(target)
        local_host = parsed.host in ("127.0.0.1", "localhost")
        local = InProcessServer((parsed.port or 80) if local_host else 0).start()
        target = local.url
    try:
        with httpx.Client(
            base_url=target, headers=headers, timeout=httpx.Timeout(30, read=None)
        ) as client:
            return _loop(client, model, system, params, out, prompt)
    except ChatError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    finally:
        if local is not None:
            local.stop()


def _loop(
    client: httpx.Client,
    model: str | None,
    system: str | None,
    params: dict[str, object],
    out: TextIO,
    prompt: Callable[[str], str],
) -> int:
    response = client.get("/api/v1/models")
    _raise_for_error(response)
    listing = response.json()
    local = [m["id"] for m in listing["local"]]
    chosen = model or listing.get("default_model") or (local[0] if local else None)
    if not chosen:
        raise ChatError("no model: download one first (playground pull ...)")
    if ":" not in chosen and chosen not in local:
        raise ChatError(f"unknown model '{chosen}'; local models: {', '.join(local) or 'none'}")
    session = ChatSession(client, chosen, system or "", params)
    print(f"Chatting with {chosen}. Type /help for commands, /bye to quit.", file=out)

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    while True:
        try:
            text = read_message(prompt)
        except KeyboardInterrupt:
            print("\n(Use /bye or Ctrl+D to quit.)", file=out)
            continue
        except EOFError:
            print(file=out)
            return 0
        if not text.strip():
            continue
        if text.startswith("/") and not text.startswith("//"):
            if _command(session, text.strip(), out) == "bye":
                return 0
            continue
        try:
            done = session.ask(text, write)
        except KeyboardInterrupt:
            print("\n[stopped]", file=out)
            continue
        except ChatError as exc:
            print(f"\nError: {exc}", file=out)
            continue
        print(file=out)
        if done is not None:
            print(f"[{figures_line(done)}]", file=out)


def _command(session: ChatSession, line: str, out: TextIO) -> str | None:
    name, _, arg = line.partition(" ")
    arg = arg.strip()
    if name in ("/bye", "/exit", "/quit"):
        return "bye"
    if name == "/help" or name == "/?":
        print(HELP, file=out)
    elif name == "/clear":
        session.messages.clear()
        print("Cleared the conversation.", file=out)
    elif name == "/system":
        session.system = arg
        print(f"System prompt set: {arg}" if arg else "System prompt cleared.", file=out)
    elif name == "/model":
        try:
            local = session.local_models()
        except ChatError as exc:
            print(f"Error: {exc}", file=out)
            return None
        if not arg:
            for model in local:
                print(f"{'*' if model == session.model else ' '} {model}", file=out)
        elif ":" not in arg and arg not in local:
            print(f"Unknown model '{arg}'. Local models: {', '.join(local)}", file=out)
        else:
            session.model = arg
            print(f"Now chatting with {arg}.", file=out)
    else:
        print(f"Unknown command {name}. Type /help.", file=out)
    return None
