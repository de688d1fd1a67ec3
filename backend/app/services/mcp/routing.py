"""Tool routing: with many MCP tools enabled, a turn offers only those closest to the
conversation.

Every offered tool's name, description and schema go into the prompt, so a server with dozens
of tools costs thousands of prompt tokens per turn (and a small model picks worse among many).
Above ``MP_MCP_TOOL_ROUTING_THRESHOLD`` tools, each turn embeds the latest user message and
every tool's ``name: description`` with the RAG embedder (MiniLM by default; tool vectors are
cached), and keeps the ``MP_MCP_TOOL_ROUTING_TOP_K`` most similar (cosine), plus a tool that
``tool_choice`` names. What it saved is counted exactly: the prompt rendered with all tools
and with the kept ones, by the model's own template and tokenizer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from app.backends.types import ChatMessage, ToolSpec, ToolUse
from app.core.config import McpSettings
from app.core.errors import AppError
from app.services.embeddings import EmbeddingService
from app.services.generation.tokenization import tokenize
from app.services.mcp.hub import OfferedTool
from app.services.models.manager import ModelManager


@dataclass(frozen=True)
class Routing:
    """What routing did for one turn."""

    enabled_tools: int
    offered: list[str]
    prompt_tokens_saved: int | None  # None when the model has no local tokenizer


@dataclass
class ToolRouter:
    """Picks the tools a turn offers (see the module docstring)."""

    embeddings: EmbeddingService
    manager: ModelManager
    settings: McpSettings
    embedding_model: str
    # Tool vectors by (server, name, description): tools rarely change between turns.
    _vectors: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)

    async def route(
        self,
        model: str | None,
        messages: list[ChatMessage],
        offered: list[OfferedTool],
        keep: str | None = None,
    ) -> tuple[list[OfferedTool], Routing | None]:
        """The tools to offer (all of them, and no report, at or below the threshold)."""
        if len(offered) <= self.settings.mcp_tool_routing_threshold:
            return offered, None
        query = next((m.content for m in reversed(messages) if m.role == "user"), "")
        scores = await self._scores(query or " ", offered)
        top = set(np.argsort(-scores)[: self.settings.mcp_tool_routing_top_k].tolist())
        kept = [o for i, o in enumerate(offered) if i in top or o.name == keep]
        saved = await self._saved(model, messages, offered, kept)
        return kept, Routing(len(offered), [o.name for o in kept], saved)

    async def _scores(self, query: str, offered: list[OfferedTool]) -> np.ndarray:
        model = self.embedding_model
        keys = [(o.tool.server, o.tool.name, o.tool.description) for o in offered]
        missing = [k for k in dict.fromkeys(keys) if k not in self._vectors]
        texts = [f"{name}: {description}" for _, name, description in missing]
        result = await self.embeddings.embed(model, [query, *texts])
        for key, vector in zip(missing, result.vectors[1:], strict=True):
            self._vectors[key] = vector
        tools = np.stack([self._vectors[k] for k in keys])
        return tools @ result.vectors[0]

    async def _saved(
        self,
        model: str | None,
        messages: list[ChatMessage],
        offered: list[OfferedTool],
        kept: list[OfferedTool],
    ) -> int | None:
        def use(tools: list[OfferedTool]) -> ToolUse:
            return ToolUse(
                tuple(
                    ToolSpec(o.name, o.tool.description, json.dumps(o.tool.input_schema))
                    for o in tools
                )
            )

        try:
            every, _ = await tokenize(self.manager, model, messages=messages, tools=use(offered))
            some, _ = await tokenize(self.manager, model, messages=messages, tools=use(kept))
        except AppError:  # a remote engine: no local tokenizer to count with
            return None
        return len(every) - len(some)
