"""A model's own chat template, rendered the same way on every in-process backend.

The template is the Jinja source the model ships: ``tokenizer.chat_template`` of an HF tokenizer
(``chat_template.jinja``) or the ``tokenizer.chat_template`` key of a GGUF file. Both backends
render it here, in a sandboxed Jinja environment set up like Hugging Face's
``apply_chat_template`` (trim_blocks, lstrip_blocks, ``raise_exception``, ``tojson``,
``strftime_now``), so the same messages give the same prompt text on Transformers and llama.cpp.
We render ourselves instead of using llama-cpp-python's formatter so that llama.cpp's path needs
no guessed chat format and takes the same extra variables (``tools`` and friends) as HF's.

:func:`render_messages` is the one entry point: it takes messages as plain dicts plus any extra
template variables (``tools=[...]``, ``documents=...``) and returns the prompt text. How the
prompt ends is a :data:`~app.backends.base.ChatEnding`: a new assistant turn opened (the
template's ``add_generation_prompt``), the final message left open so the model continues it
(HF's ``continue_final_message``: assistant prefill), or neither.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from app.backends.base import ChatEnding
from app.core.errors import InvalidRequest

# Tokens templates use to end a turn. Those the template writes (and the vocabulary knows)
# become stop tokens of chat requests, beside the model's end-of-sequence token.
END_OF_TURN_TOKENS = (
    "<|im_end|>",
    "<|eot_id|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
)
# Used only when a model ships no template (base models): a plain transcript.
_TRANSCRIPT_SUFFIX = "\nassistant:"
# Appended to the final message to find where its text ends in the rendered prompt, as HF's
# apply_chat_template does for continue_final_message (the same tag, so prompts agree).
_CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "


class TemplateError(InvalidRequest):
    """The template refused the conversation (``raise_exception``) or failed to render."""


@lru_cache(maxsize=32)
def _compile(source: str) -> Any:
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(f"The model's chat template refused the messages: {message}")

    def tojson(
        value: Any,
        ensure_ascii: bool = False,
        indent: int | None = None,
        separators: Any = None,
        sort_keys: bool = False,
    ) -> str:
        # HF's filter: no HTML escaping (Jinja's own tojson escapes '<' and '>').
        return json.dumps(
            value,
            ensure_ascii=ensure_ascii,
            indent=indent,
            separators=separators,
            sort_keys=sort_keys,
        )

    def strftime_now(fmt: str) -> str:
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


@dataclass(frozen=True)
class ChatTemplate:
    """A model's template with the special tokens it refers to."""

    source: str | None
    bos_token: str = ""
    eos_token: str = ""

    def render(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        ending: ChatEnding = "new_turn",
        **extra: Any,
    ) -> str:
        """Prompt text for ``messages``; ``extra`` become template variables (e.g. ``tools``)."""
        return render_messages(self, messages, ending=ending, **extra)

    def stop_tokens(self) -> list[str]:
        """End-of-turn tokens this template writes, plus the model's end-of-sequence token."""
        found = [t for t in END_OF_TURN_TOKENS if self.source and t in self.source]
        if self.eos_token and self.eos_token not in found:
            found.append(self.eos_token)
        return found


def render_messages(
    template: ChatTemplate,
    messages: Sequence[Mapping[str, Any]],
    *,
    ending: ChatEnding = "new_turn",
    **extra: Any,
) -> str:
    """Render ``messages`` (dicts with ``role`` and ``content``, and whatever else the template
    reads, such as ``tool_calls``) with the model's template, ending as ``ending`` says.
    Without a template: a plain ``role: content`` transcript, ending in ``assistant:`` for a
    new turn."""
    conversation = [dict(m) for m in messages]
    continuing = ending == "continue"
    if continuing:
        if not conversation:
            raise InvalidRequest("There is no final message to continue.", param="messages")
        final = conversation[-1]
        final["content"] = str(final.get("content") or "") + _CONTINUE_TAG
    if not template.source:
        lines = [f"{m['role']}: {m.get('content') or ''}" for m in conversation]
        text = "\n".join(lines) + (_TRANSCRIPT_SUFFIX if ending == "new_turn" else "")
    else:
        text = _render_template(template, conversation, ending == "new_turn", extra)
    return _cut_at_tag(text) if continuing else text


def _render_template(
    template: ChatTemplate,
    conversation: list[dict[str, Any]],
    add_generation_prompt: bool,
    extra: dict[str, Any],
) -> str:
    assert template.source is not None
    from jinja2 import TemplateError as JinjaError

    try:
        return str(
            _compile(template.source).render(
                messages=conversation,
                add_generation_prompt=add_generation_prompt,
                bos_token=template.bos_token,
                eos_token=template.eos_token,
                **extra,
            )
        )
    except TemplateError:
        raise
    except (JinjaError, TypeError, ValueError, LookupError, AttributeError) as exc:
        # A template that cannot take these messages (a missing key, a wrong type): say so.
        raise TemplateError(f"The model's chat template failed to render: {exc}") from exc


def _cut_at_tag(text: str) -> str:
    """The prompt up to the end of the final message's text (HF's continue_final_message)."""
    tag = _CONTINUE_TAG.strip()
    if tag not in text:
        raise TemplateError(
            "The model's chat template drops the final message's text, so it cannot be "
            "continued; send the conversation without the final assistant message."
        )
    at = text.rindex(tag)
    if text[at : at + len(_CONTINUE_TAG)] == _CONTINUE_TAG:
        return text[:at]
    # The template trimmed the message's trailing space (and the tag's): trim as HF does.
    return text[:at].rstrip()
