"""The checks both transports run: every tool called through the official MCP client on the
tiny model and the test knowledge base, and the errors that must come back as tool errors."""

from __future__ import annotations

from typing import Any

from mcp import Client
from mcp.types import CallToolResult, TextContent

from tests.mcp_server.conftest import KNOWLEDGE_BASE

TOOLS = {"list_models", "generate", "compare", "list_knowledge_bases", "rag_search", "rag_answer"}


def _text(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool's structured result; fails the test when the call is a tool error."""
    result = await client.call_tool(name, arguments)
    assert not result.is_error, _text(result)
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


async def tool_error(client: Client, name: str, arguments: dict[str, Any]) -> str:
    """The message of a call that must fail as a tool error (not a protocol error)."""
    result = await client.call_tool(name, arguments)
    assert result.is_error, result
    message = _text(result)
    # The SDK puts "Error executing tool NAME: " before a deliberate error's text; a crash
    # would be that prefix alone.
    prefix = f"Error executing tool {name}: "
    assert message.startswith(prefix) and "Traceback" not in message, message
    return message.removeprefix(prefix)


async def check_tools(client: Client) -> None:
    listed = (await client.list_tools()).tools
    assert {tool.name for tool in listed} == TOOLS
    for tool in listed:
        assert tool.description and len(tool.description) > 60, tool.name
    generate = next(tool for tool in listed if tool.name == "generate")
    assert {"prompt", "messages", "model", "max_tokens"} <= set(generate.input_schema["properties"])

    models = await call(client, "list_models", {})
    assert "tiny" in [m["id"] for m in models["models"]]
    assert models["default_model"] == "tiny"

    # Real tokens from the tiny model, chat and completion.
    chat = await call(
        client,
        "generate",
        {
            "model": "tiny",
            "messages": [{"role": "user", "content": "Hello there"}],
            "max_tokens": 6,
            "temperature": 0,
        },
    )
    assert chat["model"] == "tiny" and chat["finish_reason"] in ("stop", "length")
    assert chat["usage"]["completion_tokens"] >= 1 and chat["usage"]["prompt_tokens"] > 1
    assert chat["timings"]["ttft_ms"] is not None
    completion = await call(
        client, "generate", {"prompt": "The cat", "max_tokens": 5, "temperature": 0}
    )
    assert completion["usage"]["completion_tokens"] == 5 and completion["finish_reason"] == "length"
    assert completion["text"]

    compared = await call(
        client,
        "compare",
        {"models": ["tiny", "tiny"], "prompt": "Once upon", "max_tokens": 4, "seed": 1},
    )
    columns = compared["columns"]
    assert [c["model"] for c in columns] == ["tiny", "tiny"]
    for column in columns:
        assert column["error"] is None and column["text"]
        assert column["ttft_ms"] > 0 and column["tokens_per_second"] is not None
        assert column["response"]["usage"]["completion_tokens"] == 4

    bases = await call(client, "list_knowledge_bases", {})
    assert KNOWLEDGE_BASE in [kb["name"] for kb in bases["knowledge_bases"]]

    found = await call(
        client,
        "rag_search",
        {"knowledge_base": KNOWLEDGE_BASE, "query": "Who built the Kelvar lighthouse?"},
    )
    assert "Mara Olsen" in found["chunks"][0]["text"]
    assert found["chunks"][0]["filename"] == "notes.md"

    answered = await call(
        client,
        "rag_answer",
        {
            "knowledge_base": KNOWLEDGE_BASE,
            "question": "Who built the lighthouse on Kelvar Island?",
            "max_tokens": 8,
            "temperature": 0,
        },
    )
    assert answered["grounded"] is True
    assert answered["answer"]["usage"]["completion_tokens"] >= 1
    assert any("Mara Olsen" in c["text"] for c in answered["citations"])
    assert [c["n"] for c in answered["citations"]] == list(range(1, len(answered["citations"]) + 1))

    # Bad arguments: tool errors with the message, and the server goes on answering.
    message = await tool_error(client, "generate", {"model": "no-such-model", "prompt": "Hi"})
    assert "no-such-model" in message
    message = await tool_error(
        client, "generate", {"prompt": "Hi", "messages": [{"role": "user", "content": "Hi"}]}
    )
    assert "exactly one of 'prompt' or 'messages'" in message
    await tool_error(client, "generate", {"prompt": "Hi", "temperature": 7})
    message = await tool_error(client, "rag_search", {"knowledge_base": "nope", "query": "x"})
    assert "nope" in message
    compared = await call(
        client, "compare", {"models": ["tiny", "no-such-model"], "prompt": "Hi", "max_tokens": 2}
    )
    assert compared["columns"][0]["text"] and "no-such-model" in compared["columns"][1]["error"]
    await tool_error(client, "compare", {"models": ["tiny"], "prompt": "Hi"})
    assert (await call(client, "list_models", {}))["models"]
