"""OpenAI Responses API protocol types (``/v1/responses``).

Requests are validated strictly on the fields we honour and ignore the rest. Response objects,
their output items and the stream events are typed below in the shape the official SDK parses;
they are dumped with every field (``None`` as null), as OpenAI sends them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schemas.common import BackendName, Temperature, TopP


class InputText(BaseModel):
    """A text content part of an input message (``input_text``, or ``output_text`` when an
    earlier assistant turn is sent back)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["input_text", "output_text", "text"]
    text: str


class OtherPart(BaseModel):
    """A content part we do not serve (images, files): refused with a 400 naming it."""

    model_config = ConfigDict(extra="allow")
    type: str


class InputMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[Annotated[InputText | OtherPart, Field(union_mode="left_to_right")]]


class FunctionCallItem(BaseModel):
    """An earlier call of the model, sent back in the input."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["function_call"]
    call_id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=128)
    arguments: str = "{}"


class FunctionCallOutputItem(BaseModel):
    """The result of a call, for the model to continue from."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1, max_length=256)
    output: str


class FunctionTool(BaseModel):
    """A function the model may call (``parameters``: JSON schema of its arguments)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["function"]
    name: str = Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    strict: bool | None = None


class NamedFunction(BaseModel):
    type: Literal["function"]
    name: str


class McpToolNames(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tool_names: list[str] = Field(default_factory=list)


class McpApprovalFilter(BaseModel):
    """``require_approval`` by tool: ``always`` for these, ``never`` for those."""

    model_config = ConfigDict(extra="ignore")
    always: McpToolNames | None = None
    never: McpToolNames | None = None


class McpTool(BaseModel):
    """A remote MCP server's tools for the model (OpenAI's ``type: "mcp"`` tool); this
    server calls them and feeds the results back."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["mcp"]
    server_label: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    server_url: str = Field(
        min_length=1,
        max_length=2048,
        pattern=r"^https?://",
        description="Streamable HTTP endpoint; it passes the same address guard as URL "
        "downloads (MP_MCP_ALLOW_PRIVATE_URLS lets it be on this machine or the LAN).",
    )
    server_description: str | None = None
    allowed_tools: list[str] | McpToolNames | None = None

    @field_validator("server_url")
    @classmethod
    def _has_host(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("server_url must be an http:// or https:// URL with a host")
        return url

    require_approval: Literal["always", "never"] | McpApprovalFilter = "always"
    headers: dict[str, str] | None = None

    def allows(self, tool: str) -> bool:
        allowed = self.allowed_tools
        if allowed is None:
            return True
        names = allowed if isinstance(allowed, list) else allowed.tool_names
        return tool in names

    def asks(self, tool: str) -> bool:
        """Whether a call of ``tool`` needs the user's approval."""
        policy = self.require_approval
        if isinstance(policy, str):
            return policy == "always"
        if policy.never is not None and tool in policy.never.tool_names:
            return False
        if policy.always is not None:
            return tool in policy.always.tool_names
        return True


class NamedMcpTool(BaseModel):
    """``tool_choice`` naming an MCP server (and optionally one of its tools)."""

    type: Literal["mcp"]
    server_label: str
    name: str | None = None


class McpApprovalResponseItem(BaseModel):
    """The user's decision on an earlier ``mcp_approval_request``."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["mcp_approval_response"]
    approval_request_id: str = Field(min_length=1, max_length=256)
    approve: bool
    reason: str | None = None


class McpApprovalRequestItem(BaseModel):
    """An earlier approval request, sent back by a client that keeps its own state."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["mcp_approval_request"]
    id: str
    server_label: str
    name: str
    arguments: str = "{}"


class OtherItem(BaseModel):
    """An input item of another type (function_call_output, reasoning, ...)."""

    model_config = ConfigDict(extra="allow")
    type: str


InputItem = Annotated[
    InputMessage
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpApprovalResponseItem
    | McpApprovalRequestItem
    | OtherItem,
    Field(union_mode="left_to_right"),
]


class TextFormat(BaseModel):
    """``text.format``: free text, any JSON object, or JSON following a schema."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = Field(default=None, max_length=64, description="Name of the schema.")
    schema_: dict[str, Any] | None = Field(
        default=None, alias="schema", description="JSON schema (json_schema)."
    )
    strict: bool | None = None

    def schema_text(self) -> str | None:
        if self.type == "text":
            return None
        if self.type == "json_object":
            return json.dumps({"type": "object"})
        if self.schema_ is None:
            raise ValueError("text.format.schema is required with type json_schema")
        return json.dumps(self.schema_)


class TextConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    format: TextFormat = Field(default_factory=TextFormat)


class ResponseRequest(BaseModel):
    """POST /v1/responses."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=512, description="Model id from GET /v1/models.")
    input: str | list[InputItem] = Field(description="A user message, or input items.")
    instructions: str | None = Field(
        default=None, description="A system message for this turn (not carried to the next)."
    )
    max_output_tokens: int | None = Field(default=None, ge=1, description="Most tokens out.")
    temperature: Temperature = 1.0
    top_p: TopP = 1.0
    text: TextConfig | None = None
    tools: list[Annotated[FunctionTool | McpTool, Field(discriminator="type")]] | None = Field(
        default=None,
        description="Function tools, and remote MCP servers' tools (other types are refused).",
    )
    tool_choice: Literal["auto", "none", "required"] | NamedFunction | NamedMcpTool | None = None
    parallel_tool_calls: bool = True
    store: bool = Field(default=True, description="Keep the response for GET and chaining.")
    previous_response_id: str | None = Field(
        default=None,
        max_length=128,
        description="A stored response whose conversation this turn continues.",
    )
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    stream: bool = False
    user: str | None = None
    backend: BackendName | None = Field(default=None, description="Extension: backend to use.")


class DeletedResponse(BaseModel):
    id: str
    object: Literal["response"] = "response"
    deleted: bool = True


ItemStatus = Literal["in_progress", "completed", "incomplete"]
ResponseStatus = Literal["in_progress", "completed", "incomplete", "failed"]


class ItemText(BaseModel):
    """The text of a stored input message (``input_text``, or ``output_text`` for an earlier
    assistant turn)."""

    type: Literal["input_text", "output_text"]
    text: str


class OutputText(BaseModel):
    """Text the model wrote, a content part of an output message."""

    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = Field(default_factory=list)
    logprobs: list[Any] = Field(default_factory=list)


class MessageObject(BaseModel):
    """A message item: the model's output (``assistant``) or a stored input message."""

    id: str
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"] = "assistant"
    status: ItemStatus
    content: list[OutputText | ItemText] = Field(default_factory=list)


class _CallItem(BaseModel):
    """An item about one function call."""

    id: str
    type: str
    status: ItemStatus = "completed"
    call_id: str


class FunctionCallObject(_CallItem):
    """A call of a function tool: the model's output, or an earlier one in the input."""

    type: Literal["function_call"] = "function_call"
    name: str
    arguments: str


class FunctionCallOutputObject(_CallItem):
    """A stored input item with a call's result."""

    type: Literal["function_call_output"] = "function_call_output"
    output: str


class McpListToolsObject(BaseModel):
    """The tools an MCP server offered this turn."""

    id: str
    type: Literal["mcp_list_tools"] = "mcp_list_tools"
    server_label: str
    tools: list[dict[str, Any]]
    error: str | None = None


class McpCallObject(BaseModel):
    """A call of an MCP tool this server made, with its output or error."""

    id: str
    type: Literal["mcp_call"] = "mcp_call"
    status: ItemStatus = "completed"
    server_label: str
    name: str
    arguments: str
    output: str | None = None
    error: str | None = None
    approval_request_id: str | None = None


class McpApprovalRequestObject(BaseModel):
    """A call that waits for the user: answer with an ``mcp_approval_response`` input item
    (and this response as ``previous_response_id``)."""

    id: str
    type: Literal["mcp_approval_request"] = "mcp_approval_request"
    server_label: str
    name: str
    arguments: str


# What one generation outputs (the streamed items); OutputItem adds the MCP items.
GeneratedItem = MessageObject | FunctionCallObject
OutputItem = (
    MessageObject
    | FunctionCallObject
    | McpListToolsObject
    | McpCallObject
    | McpApprovalRequestObject
)
StoredInputItem = MessageObject | FunctionCallObject | FunctionCallOutputObject


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int


class ResponseError(BaseModel):
    """Why a response failed (status ``failed``)."""

    code: str
    message: str


class IncompleteDetails(BaseModel):
    reason: Literal["max_output_tokens"] = "max_output_tokens"


class ResponseObject(BaseModel):
    """A response: its status, output items and usage, and the request's settings echoed."""

    id: str
    object: Literal["response"] = "response"
    created_at: int
    model: str
    status: ResponseStatus
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None
    max_output_tokens: int | None
    metadata: dict[str, str]
    output: list[OutputItem]
    parallel_tool_calls: bool
    previous_response_id: str | None
    store: bool
    temperature: float | None
    top_p: float | None
    text: dict[str, Any]  # {"format": the request's text.format}
    tool_choice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    truncation: Literal["disabled"] = "disabled"
    usage: ResponseUsage | None = None
    user: str | None


class InputItemList(BaseModel):
    """``GET /v1/responses/{id}/input_items``: newest first."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool = False


class StreamEvent(BaseModel):
    """One event of a streamed response; ``type`` is also the SSE event name."""

    type: str
    sequence_number: int


class ResponseLifecycleEvent(StreamEvent):
    """``response.created``, ``.in_progress``, ``.completed`` and ``.failed``."""

    response: ResponseObject


class OutputItemEvent(StreamEvent):
    """``response.output_item.added`` and ``.done``."""

    output_index: int
    item: OutputItem


class _ItemEvent(StreamEvent):
    """An event about one output item."""

    item_id: str
    output_index: int


class _TextEvent(_ItemEvent):
    """An event about the text of an output message (its one content part)."""

    content_index: int = 0


class ContentPartEvent(_TextEvent):
    """``response.content_part.added`` and ``.done``."""

    part: OutputText


class OutputTextDelta(_TextEvent):
    type: str = "response.output_text.delta"
    delta: str
    logprobs: list[Any] = Field(default_factory=list)


class OutputTextDone(_TextEvent):
    type: str = "response.output_text.done"
    text: str
    logprobs: list[Any] = Field(default_factory=list)


class ArgumentsDelta(_ItemEvent):
    type: str = "response.function_call_arguments.delta"
    delta: str


class ArgumentsDone(_ItemEvent):
    type: str = "response.function_call_arguments.done"
    arguments: str
    name: str


class McpItemEvent(_ItemEvent):
    """``response.mcp_list_tools.in_progress``/``.completed`` and
    ``response.mcp_call.in_progress``/``.completed``/``.failed``."""


class McpArgumentsDone(_ItemEvent):
    type: str = "response.mcp_call_arguments.done"
    arguments: str


class ErrorEvent(StreamEvent):
    """The error of a failed stream, before ``response.failed``."""

    type: str = "error"
    code: str
    message: str
    param: str | None
