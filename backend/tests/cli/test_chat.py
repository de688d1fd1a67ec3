"""``playground chat`` driven in a pseudo-terminal (pexpect): streamed answers with figures,
the slash commands, multi-line input, Ctrl+C stopping an answer (and the server's generation)
but not the program, and the in-process server when none answers."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
import pexpect

from tests.helpers.server import REPO_ROOT, ServerProcess, free_port, tiny_env

PROMPT = ">>> "
FIGURES = r"\[\d+ tokens · .* on transformers\]"


def spawn(*args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "app.cli", "chat", *args],
        cwd=str(REPO_ROOT / "backend"),
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "backend"), **(env or {})},
        encoding="utf-8",
        timeout=120,
        dimensions=(40, 200),
    )
    child.expect_exact(PROMPT)
    return child


def bye(child: pexpect.spawn) -> None:
    child.sendline("/bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def _tiny(server: ServerProcess) -> dict:
    loaded = httpx.get(f"{server.url}/api/v1/models/loaded", timeout=10).json()
    return next(m for m in loaded if m["id"] == "tiny")


def test_chat_streams_answers_and_runs_the_commands(server: ServerProcess) -> None:
    child = spawn("tiny", "--url", server.url, "--max-tokens", "8", "--temperature", "0")
    assert "Chatting with tiny" in child.before
    child.sendline("def add(a, b):")
    child.expect(FIGURES)
    child.expect_exact(PROMPT)

    child.sendline("/help")
    child.expect_exact("/system TEXT")
    child.sendline("/system You write Python.")
    child.expect_exact("System prompt set: You write Python.")
    child.sendline("/model")
    child.expect_exact("* tiny")
    child.sendline("/model no-such-model")
    child.expect_exact("Unknown model 'no-such-model'")
    child.sendline("/frobnicate")
    child.expect_exact("Unknown command /frobnicate")

    # A block between triple quotes is one message of several lines.
    child.sendline('"""')
    child.expect_exact("... ")
    child.sendline("import os")
    child.expect_exact("... ")
    child.sendline('import sys"""')
    child.expect(FIGURES)
    child.sendline("/clear")
    child.expect_exact("Cleared the conversation.")
    bye(child)


def test_ctrl_c_stops_the_answer_not_the_program(server: ServerProcess) -> None:
    # These settings make the tiny model write all 1000 tokens (no early end of text).
    child = spawn(
        "tiny", "--url", server.url, "--max-tokens", "1000", "--temperature", "2", "--seed", "3"
    )
    before = _tiny(server)["tokens_generated"]
    child.sendline("class Parser:")
    child.expect(r"class Parser:\r\n.{10}")  # the answer is streaming
    child.sendintr()
    child.expect_exact("[stopped]")
    child.expect_exact(PROMPT)
    # The server stopped generating too: nothing active, well short of 1000 tokens.
    deadline = time.monotonic() + 20
    while _tiny(server)["active_requests"] and time.monotonic() < deadline:
        time.sleep(0.1)
    stats = _tiny(server)
    assert stats["active_requests"] == 0
    assert stats["tokens_generated"] - before < 1000
    # Ctrl+C at the prompt clears the line; the chat goes on.
    child.sendintr()
    child.expect_exact("Use /bye or Ctrl+D to quit.")
    child.sendline("/system")
    child.expect_exact("System prompt cleared.")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_unreachable_url_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "app.cli", "chat", "--url", url],
        cwd=str(REPO_ROOT / "backend"),
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "backend")},
        encoding="utf-8",
        timeout=60,
    )
    child.expect_exact(f"No server answers at {url}.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


def test_starts_a_server_in_process_when_none_answers(tmp_path: Path, models_dir: Path) -> None:
    port = free_port()
    env = tiny_env(models_dir, tmp_path, HF_HUB_OFFLINE="1")
    child = spawn(
        "--url", f"http://127.0.0.1:{port}", "--start-server", "--max-tokens", "6", env=env
    )
    assert "starting one in this process" in child.before
    assert "Chatting with tiny" in child.before  # the server's default model
    # It serves on the port asked for, to other clients too.
    assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).status_code == 200
    child.sendline("def main():")
    child.expect(FIGURES)
    bye(child)
    # Quitting stops the in-process server.
    try:
        httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
        raise AssertionError("the in-process server still answers")
    except httpx.HTTPError:
        pass
