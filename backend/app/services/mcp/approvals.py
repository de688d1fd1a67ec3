"""Tool calls waiting for the user's approval (servers set to ``approval: "ask"``).

The agent loop opens an approval and waits on it while its stream stays open; the user's
decision arrives on another request (``POST /api/v1/mcp/approvals/{id}``). Approvals live in
the process that runs the chat: the stream and the decision must reach the same server
process (one server, or sticky sessions behind a balancer). Only the identity that started
the chat (its API key, or anyone when auth is off) may decide.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from app.core.errors import Forbidden, NotFound


@dataclass
class _Pending:
    decision: asyncio.Future[bool]
    identity: str | None


class Approvals:
    """The open approvals of this process, by id."""

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}

    def open(self, identity: str | None) -> tuple[str, asyncio.Future[bool]]:
        """A new approval: its id (sent to the client) and the future the loop awaits."""
        approval_id = "appr_" + secrets.token_urlsafe(12)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[approval_id] = _Pending(future, identity)
        return approval_id, future

    def close(self, approval_id: str) -> None:
        """Forget an approval (decided, timed out, or its stream closed)."""
        self._pending.pop(approval_id, None)

    def decide(self, approval_id: str, approve: bool, identity: str | None) -> None:
        """Approve or deny; 404 when it is unknown or already decided, 403 for another key."""
        pending = self._pending.get(approval_id)
        if pending is None or pending.decision.done():
            raise NotFound(
                f"No tool call waits for approval '{approval_id}' (decided, timed out, or its "
                "chat ended).",
                code="approval_not_found",
            )
        if pending.identity is not None and pending.identity != identity:
            raise Forbidden("Only the caller that started this chat may decide its tool calls.")
        pending.decision.set_result(approve)
