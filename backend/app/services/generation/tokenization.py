"""Token counting for ``/tokenize`` and ``/detokenize``: the model's own tokenizer and chat
template, exactly as a generation would tokenize the same input."""

from __future__ import annotations

import asyncio

from app.backends.base import Backend, ChatEnding, ChatMessage, ToolUse
from app.core.errors import InvalidRequest
from app.services.models.manager import LoadedModel, ModelManager
from app.services.tools.planning import plan_tools


async def _engine(manager: ModelManager, model_id: str | None) -> LoadedModel:
    model_id = model_id or manager.default_model_id()
    if not model_id:
        raise InvalidRequest("No model given and no default model.", param="model")
    loaded, _ = await manager.get(model_id, reserve=False)
    if not loaded.backend.capabilities.local_tokenizer:
        raise InvalidRequest(
            f"'{model_id}' runs on the {loaded.backend_name} backend, which tokenizes on its own "
            "server; there is no local tokenizer to count with.",
            param="model",
        )
    return loaded


def _tokens(
    engine: Backend,
    prompt: str | None,
    messages: list[ChatMessage] | None,
    add_special_tokens: bool,
    tools: ToolUse | None = None,
    chat_ending: ChatEnding = "new_turn",
) -> list[int]:
    if messages is not None:
        # Rendered as GenerationService.prepare renders it (tools and ending included); the
        # template writes BOS and the other special tokens itself.
        plan = plan_tools(engine.chat_template_text(), messages, tools)
        text = engine.render_chat(plan.messages, plan.tools, ending=chat_ending)
        text += plan.prompt_suffix
        return engine.tokenize(text, add_special_tokens=False)
    return engine.tokenize(prompt or "", add_special_tokens=add_special_tokens)


async def tokenize(
    manager: ModelManager,
    model_id: str | None,
    *,
    prompt: str | None = None,
    messages: list[ChatMessage] | None = None,
    add_special_tokens: bool = True,
    tools: ToolUse | None = None,
    chat_ending: ChatEnding = "new_turn",
) -> tuple[list[int], int]:
    """Token ids of the input and the model's context length."""
    loaded = await _engine(manager, model_id)
    engine = loaded.backend
    ids = await asyncio.to_thread(
        _tokens, engine, prompt, messages, add_special_tokens, tools, chat_ending
    )
    return ids, engine.context_length


async def detokenize(manager: ModelManager, model_id: str | None, token_ids: list[int]) -> str:
    """The text of ``token_ids`` (400 for ids outside the vocabulary)."""
    loaded = await _engine(manager, model_id)
    return await asyncio.to_thread(loaded.backend.detokenize, token_ids)
