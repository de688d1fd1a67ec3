"""MCP client: the servers of ``mcp.json`` (:class:`McpHub`), their connections, and the agent
loop that lets a chat's model call their tools (:class:`AgentLoop`)."""

from app.services.mcp.agent import AgentLoop, AgentTurn
from app.services.mcp.approvals import Approvals
from app.services.mcp.hub import McpHub

__all__ = ["AgentLoop", "AgentTurn", "Approvals", "McpHub"]
