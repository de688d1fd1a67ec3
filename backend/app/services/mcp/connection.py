"""One live connection to one MCP server, on the official SDK's :class:`mcp.Client`.

The SDK's client is an async context manager whose task group must be entered and left in one
task, so each connection runs in a task of its own that holds the client open until it is
closed or the server goes away; calls from request handlers use the open client and race
it against the connection ending. That gives the three things the agent loop needs:

- lazy: nothing starts until the first call; a failed or dead connection is started again
  by the next call (reconnect after a failure);
- bounded: the handshake has ``connect_timeout``, every call ``call_timeout``; a server that
  dies mid-call fails the call at once (:class:`McpServerGone`), it never hangs;
- closed: :meth:`close` ends the task, which stops a stdio server's process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED, Implementation

from app.core.errors import AppError
from app.services.downloads.address_guard import UNREACHABLE, PinnedAsyncTransport
from app.services.mcp.config import McpServerConfig
from app.version import __version__

log = logging.getLogger(__name__)
T = TypeVar("T")


class McpUnavailable(AppError):
    """An MCP server could not be reached, stopped answering, or took too long (424, as
    OpenAI answers when an MCP server fails: the request depended on it)."""

    status_code = 424
    error_type = "mcp_error"

    def __init__(self, message: str, code: str = "mcp_unavailable") -> None:
        super().__init__(message, code=code)


class McpServerGone(McpUnavailable):
    """The server's connection ended while a call waited on it."""


class McpTimeout(McpUnavailable):
    """A handshake or a call took longer than its limit."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="mcp_timeout")


@dataclass(frozen=True)
class McpTool:
    """A tool one server offers: its name there, what it does, its JSON schema."""

    server: str
    name: str
    description: str
    input_schema: dict[str, Any]


def _closed(exc: BaseException) -> bool:
    """Whether ``exc`` is the SDK's "connection closed" error (its transport ended)."""
    return (
        isinstance(exc, MCPError)
        and exc.error.code == CONNECTION_CLOSED
        and "closed" in exc.error.message.lower()
    )


def _describe(exc: BaseException) -> str:
    """One readable line for an exception, looking inside anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]


class McpConnection:
    """The connection to server ``name`` (see the module docstring)."""

    def __init__(
        self,
        name: str,
        config: McpServerConfig,
        *,
        connect_timeout: float,
        call_timeout: float,
        allow_private: bool,
    ) -> None:
        self.name = name
        self.config = config
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self.allow_private = allow_private
        self.last_error: str | None = None
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._ended = asyncio.Event()
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tools: list[McpTool] | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None and not self._ended.is_set()

    def _client_for(self, stack: AsyncExitStack) -> Client:
        info = Implementation(name="mistral-playground", version=__version__)
        cfg = self.config
        if cfg.command is not None:
            params = StdioServerParameters(
                command=cfg.command, args=cfg.args, env=cfg.env or None, cwd=cfg.cwd
            )
            return Client(params, client_info=info)
        assert cfg.url is not None
        http = httpx2.AsyncClient(
            headers=cfg.headers,
            timeout=httpx2.Timeout(self.connect_timeout, read=max(300.0, self.call_timeout)),
            transport=PinnedAsyncTransport(allow_private=self.allow_private),
        )
        stack.push_async_callback(http.aclose)
        return Client(
            streamable_http_client(cfg.url, http_client=http),
            client_info=info,
        )

    async def _hold(self) -> None:
        """The connection's task: open the client, keep it open until closed or broken."""
        try:
            async with AsyncExitStack() as stack:
                client = await stack.enter_async_context(self._client_for(stack))
                self._client = client
                self.last_error = None
                self._ready.set()
                await self._stop.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the server failed to start, or its connection broke
            self.last_error = _describe(exc)
            log.warning("MCP server %s: connection ended: %s", self.name, self.last_error)
        finally:
            self._client = None
            self._tools = None
            self._ended.set()
            self._ready.set()

    async def _open(self) -> Client:
        """The open client, starting the connection when there is none (or it ended)."""
        async with self._lock:
            if self._task is None or self._ended.is_set():
                self._ready, self._ended, self._stop = (
                    asyncio.Event(),
                    asyncio.Event(),
                    asyncio.Event(),
                )
                self._task = asyncio.create_task(self._hold(), name=f"mcp:{self.name}")
            try:
                await asyncio.wait_for(self._ready.wait(), self.connect_timeout)
            except TimeoutError:
                await self.close()
                self.last_error = f"no answer within {self.connect_timeout:g} s"
                raise McpTimeout(
                    f"MCP server '{self.name}' did not start or answer within "
                    f"{self.connect_timeout:g} s"
                ) from None
            if self._client is None:
                why = "" if self.last_error == UNREACHABLE else f": {self.last_error}"
                raise McpUnavailable(f"MCP server '{self.name}' could not be reached{why}")
            return self._client

    async def call(self, work: Callable[[Client], Awaitable[T]], timeout: float | None = None) -> T:
        """Run ``work`` on the open client within ``timeout`` (the call timeout by default);
        fails at once if the connection ends meanwhile."""
        client = await self._open()
        limit = self.call_timeout if timeout is None else timeout
        ended = self._ended
        job = asyncio.ensure_future(work(client))
        watch = asyncio.ensure_future(ended.wait())
        try:
            done, _ = await asyncio.wait(
                {job, watch}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            watch.cancel()
            if not job.done():
                job.cancel()
        if job in done:
            try:
                return job.result()
            except AppError:
                raise
            except Exception as exc:
                if _closed(exc):
                    # The transport ended under the call (the process died, the HTTP session
                    # was dropped); the SDK may keep its context open, so end it here: the
                    # next call connects again.
                    self._stop.set()
                    raise McpServerGone(
                        f"MCP server '{self.name}' stopped during the call (connection closed)"
                    ) from None
                if ended.is_set():
                    raise McpServerGone(
                        f"MCP server '{self.name}' stopped: {self.last_error or _describe(exc)}"
                    ) from None
                raise McpUnavailable(f"MCP server '{self.name}': {_describe(exc)}") from None
        if ended.is_set():
            raise McpServerGone(
                f"MCP server '{self.name}' stopped during the call: {self.last_error}"
            )
        raise McpTimeout(f"MCP server '{self.name}' did not answer within {limit:g} s")

    async def tools(self, refresh: bool = False) -> list[McpTool]:
        """The server's tools (all pages), cached while the connection lasts."""
        if self._tools is not None and not refresh and self.connected:
            return self._tools

        async def listing(client: Client) -> list[McpTool]:
            out: list[McpTool] = []
            cursor: str | None = None
            while True:
                page = await client.list_tools(cursor=cursor)
                out += [
                    McpTool(self.name, t.name, t.description or "", dict(t.input_schema))
                    for t in page.tools
                ]
                cursor = page.next_cursor
                if not cursor:
                    return out

        self._tools = await self.call(listing)
        return self._tools

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> tuple[str, bool, float]:
        """Call ``tool``: its result as text, whether the tool reported an error, and the
        seconds it took. Transport failures and timeouts raise :class:`McpUnavailable`."""
        started = time.perf_counter()
        result = await self.call(lambda c: c.call_tool(tool, arguments))
        return result_text(result), bool(result.is_error), time.perf_counter() - started

    async def close(self) -> None:
        """End the connection (a stdio server's process stops with it)."""
        task = self._task
        if task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), 10)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
        except Exception:  # its failure is already recorded in last_error
            pass
        self._task = None


def result_text(result: Any) -> str:
    """A tool result as the text a model reads: its text parts, structured content as JSON
    when there is no text, and a note for each part a text model cannot see."""
    parts: list[str] = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource":
            resource = block.resource
            parts.append(getattr(resource, "text", None) or f"[resource {resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource {block.uri}]")
        else:
            parts.append(f"[{kind or 'non-text'} content omitted]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)
