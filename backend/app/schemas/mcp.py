"""MCP API types: configured servers (``/api/v1/mcp/servers``), their tools, approvals, and
the events of a chat that uses MCP tools."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class McpServerStatus(BaseModel):
    connected: bool = Field(description="Whether a connection is open now.")
    last_error: str | None = Field(description="Why the last connection failed or ended.")


class McpServerView(BaseModel):
    """A configured server as the API shows it: ``env`` and ``headers`` values redacted."""

    name: str
    transport: Literal["stdio", "http"]
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    disabled: bool = False
    approval: Literal["auto", "ask"] = "auto"
    allowed_tools: list[str] | None = None
    status: McpServerStatus


class McpToolView(BaseModel):
    name: str = Field(description="The tool's name on its server.")
    description: str
    input_schema: dict[str, Any]
    allowed: bool = Field(description="Offered to models (the server's allow-list).")


class McpResourceView(BaseModel):
    uri: str
    name: str
    description: str | None = None
    mime_type: str | None = None


class McpPromptView(BaseModel):
    name: str
    description: str | None = None
    arguments: list[str] = Field(default_factory=list)


class McpServerTools(BaseModel):
    """What one server offers (``/tools``), or the outcome of a connection test (``/test``)."""

    server: str
    tools: list[McpToolView]
    resources: list[McpResourceView] = Field(default_factory=list)
    prompts: list[McpPromptView] = Field(default_factory=list)
    duration_ms: float = Field(description="Time to connect (if needed) and list.")


class ApprovalDecision(BaseModel):
    approve: bool = Field(description="true runs the tool call; false denies it.")


class ToolCallEventData(BaseModel):
    """Payload of a stream's ``tool_call`` event (and of ``tool_steps`` entries)."""

    id: str = Field(description="The call's id (the tool message answers it).")
    server: str = Field(description="MCP server that runs it.")
    tool: str = Field(description="The tool's name on that server.")
    arguments: str = Field(description="JSON text of the arguments the model gave.")


class ApprovalRequestEventData(ToolCallEventData):
    """Payload of ``approval_request``: POST {approve} to /api/v1/mcp/approvals/{approval_id}."""

    approval_id: str


class ToolResultEventData(BaseModel):
    """Payload of ``tool_result``: what the model was given back."""

    id: str
    server: str
    tool: str
    content: str = Field(description="The result as the model reads it (cut to the budget).")
    status: Literal["ok", "error", "denied", "timeout"]
    duration_ms: float = Field(description="Time the call took (after any approval).")
    truncated: bool = Field(description="Whether the result was cut to the size budget.")


class ToolStep(BaseModel):
    """One MCP tool call of a chat turn and its result (non-streamed answers)."""

    call: ToolCallEventData
    result: ToolResultEventData


class ToolRoutingData(BaseModel):
    """Payload of ``tool_routing``: many MCP tools were enabled, so this turn offered only
    those closest to the conversation."""

    enabled_tools: int = Field(description="MCP tools enabled for the chat.")
    offered: list[str] = Field(description="The tools offered this turn.")
    prompt_tokens_saved: int | None = Field(
        description="Prompt tokens the tools left out would have cost (None: the engine "
        "tokenizes remotely)."
    )
