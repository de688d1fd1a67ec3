"""A fake engine for fast, in-process handler tests of error paths (never registered outside
tests; real engines remain the proof that features work).

Behaviour is chosen by the prompt: ``fail-mid`` yields two tokens then raises; ``fail-typed``
raises an :class:`AppError` mid-stream; ``slow`` yields a token every 20 ms until cancelled.
Anything else yields one token per character, then ``stop``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from app.backends.base import (
    Backend,
    Capabilities,
    ChatEnding,
    ChatMessage,
    GenerationRequest,
    TokenEvent,
)
from app.backends.registry import BACKENDS, BackendEntry
from app.core.errors import Overloaded

# Set by tests to count cancellations the engine saw.
CANCELLED: list[str] = []


class FakeBackend(Backend):
    """Characters as tokens; no logprobs, no JSON schema (to test capability refusals)."""

    name: ClassVar[str] = "fake"
    extra: ClassVar[str] = "tests only"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def load(self) -> None:
        if self.source.path.name.startswith("slow-load"):
            time.sleep(float(self.source.path.name.rsplit("-", 1)[-1]))

    def unload(self) -> None:
        return None

    @property
    def context_length(self) -> int:
        return 4096

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        return [ord(c) for c in text]

    def render_chat(
        self,
        messages: list[ChatMessage],
        tools: list[dict[str, Any]] | None = None,
        *,
        ending: ChatEnding = "new_turn",
    ) -> str:
        return "\n".join(m.content for m in messages)

    def stream(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[TokenEvent]:
        self.stats.started()
        try:
            prompt = request.prompt_text
            if prompt.startswith("slow"):
                while not cancel.wait(0.02):
                    yield TokenEvent("x", token_ids=[120])
                CANCELLED.append(request.request_id)
                yield TokenEvent("", finish_reason="cancelled")
                return
            for i, char in enumerate(prompt[: request.params.max_tokens]):
                if cancel.is_set():
                    CANCELLED.append(request.request_id)
                    yield TokenEvent("", finish_reason="cancelled")
                    return
                if i == 2 and prompt.startswith("fail-mid"):
                    raise RuntimeError("engine exploded")
                if i == 2 and prompt.startswith("fail-typed"):
                    raise Overloaded("engine queue full")
                yield TokenEvent(char, token_ids=[ord(char)])
            yield TokenEvent("", finish_reason="stop")
        finally:
            self.stats.finished()


ENTRY = BackendEntry(
    name="fake",
    module=__name__,
    class_name="FakeBackend",
    requires=(),
    install_hint="tests only",
    formats=("hf",),
    description="Fake engine for handler tests.",
)


def register() -> None:
    """Add the fake backend to the registry (undo with :func:`unregister`)."""
    BACKENDS["fake"] = ENTRY


def unregister() -> None:
    BACKENDS.pop("fake", None)
