"""An MCP server for the tests, made with the official SDK: tools that add numbers, look a fact
up, sleep, and fail. ``--http PORT`` serves Streamable HTTP on 127.0.0.1 (default: stdio);
``--pidfile PATH`` records the process id (tests kill it mid-call); ``--many N`` adds N more
tools about unrelated subjects (tool routing)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

FACTS = {
    "paris": "Paris is the capital of France; the Eiffel Tower was finished in 1889.",
    "tokyo": "Tokyo is the capital of Japan; about 14 million people live there.",
}
SUBJECTS = [
    "weather",
    "stocks",
    "recipes",
    "flights",
    "hotels",
    "music",
    "movies",
    "books",
    "sports",
    "news",
    "traffic",
    "calendar",
    "email",
    "translation",
    "currency",
    "timezones",
    "maps",
    "shopping",
    "fitness",
    "sleep",
    "medicine",
    "chemistry",
    "astronomy",
    "geology",
]


def build(many: int) -> MCPServer:
    server = MCPServer("playground-test-tools", log_level="CRITICAL")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers and return their sum."""
        return a + b

    @server.tool()
    def lookup(city: Literal["paris", "tokyo"]) -> str:
        """Look up a fact about a city."""
        return FACTS[city]

    @server.tool()
    def sleep(length: Literal["long"]) -> str:
        """Wait half a minute, then say so."""
        time.sleep(30)
        return "slept"

    @server.tool()
    def fail(reason: Literal["broken"]) -> str:
        """A tool that always fails."""
        raise ToolError(f"the tool failed on purpose ({reason})")

    @server.tool()
    def big() -> str:
        """Return a very long text."""
        return "x" * 50_000

    for i in range(many):
        subject = SUBJECTS[i % len(SUBJECTS)]
        server.add_tool(
            _search(subject),
            name=f"{subject}_{i}",
            description=f"Search {subject} records (collection {i}).",
        )
    return server


def _search(subject: str):
    def search(query: str) -> str:
        return f"{subject}: nothing found for {query!r}"

    return search


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=None)
    parser.add_argument("--pidfile", type=Path, default=None)
    parser.add_argument("--many", type=int, default=0)
    args = parser.parse_args()
    if args.pidfile is not None:
        args.pidfile.write_text(str(os.getpid()))
    server = build(args.many)
    if args.http is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.http)


if __name__ == "__main__":
    main()
