"""The model's own chat template on both in-process backends: the same messages give the same
prompt text and tokens on Transformers and llama.cpp, equal to the tokenizer's own
``apply_chat_template``; system prompts, add_generation_prompt, extra variables (tools) and the
template's stop tokens; sampling defaults read from the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.backends.base import ChatMessage, ModelSource
from app.backends.chat_template import ChatTemplate, TemplateError
from app.backends.generation_defaults import from_generation_config, from_gguf_metadata
from app.backends.llamacpp.backend import LlamaCppBackend
from app.backends.transformers.backend import TransformersBackend
from app.core.config import Settings
from app.services.generation import ParamsInput
from app.services.models.bundled import GGUF_ID, HF_ID

CONVERSATIONS = [
    [ChatMessage("user", "What is the capital of France?")],
    [
        ChatMessage("system", "You answer in one word."),
        ChatMessage("user", "Capital of Italy?"),
        ChatMessage("assistant", "Rome."),
        ChatMessage("user", "And of Spain?"),
    ],
]


@pytest.fixture(scope="module")
def engines(smollm2_dir: Path) -> Iterator[tuple[TransformersBackend, LlamaCppBackend]]:
    settings = Settings(threads=1)
    hf = TransformersBackend(ModelSource(HF_ID, smollm2_dir / HF_ID, "hf"), settings)
    gguf = LlamaCppBackend(ModelSource(GGUF_ID, smollm2_dir / GGUF_ID, "gguf"), settings)
    hf.load()
    gguf.load()
    yield hf, gguf
    hf.unload()
    gguf.unload()


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_same_prompt_and_tokens_on_both_backends(engines, smollm2_dir: Path, messages):
    from transformers import AutoTokenizer

    hf, gguf = engines
    reference = AutoTokenizer.from_pretrained(smollm2_dir / HF_ID)
    dicts = [{"role": m.role, "content": m.content} for m in messages]
    expected_text = str(
        reference.apply_chat_template(dicts, tokenize=False, add_generation_prompt=True)
    )
    encoded: Any = reference.apply_chat_template(
        dicts, add_generation_prompt=True, return_dict=True
    )
    expected_ids = list(encoded["input_ids"])
    for engine in (hf, gguf):
        text = engine.render_chat(messages)
        assert text == expected_text
        assert engine.tokenize(text, add_special_tokens=False) == expected_ids
    assert expected_text.endswith("<|im_start|>assistant\n")
    if messages[0].role == "system":
        assert "You answer in one word." in expected_text
        assert "SmolLM" not in expected_text  # the template's default system prompt is replaced
    else:
        assert "named SmolLM" in expected_text


PREFILLED = [
    ChatMessage("user", "What is the capital of France?"),
    ChatMessage("assistant", "The capital of France is"),
]


@pytest.mark.parametrize(
    ("messages", "ending"),
    [
        (PREFILLED, "continue"),
        (PREFILLED, "new_turn"),
        (PREFILLED, "none"),
        (PREFILLED[:1], "none"),
    ],
)
def test_prompt_endings_match_apply_chat_template(engines, smollm2_dir: Path, messages, ending):
    """A final assistant message continued (prefill), closed with a new turn opened, or
    neither: the same text and tokens on both backends as HF's apply_chat_template."""
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(smollm2_dir / HF_ID)
    dicts = [{"role": m.role, "content": m.content} for m in messages]
    expected = str(
        reference.apply_chat_template(
            dicts,
            tokenize=False,
            add_generation_prompt=ending == "new_turn",
            continue_final_message=ending == "continue",
        )
    )
    for engine in engines:
        text = engine.render_chat(messages, ending=ending)
        assert text == expected
        assert engine.tokenize(text, add_special_tokens=False) == list(
            reference(expected, add_special_tokens=False)["input_ids"]
        )
    if ending == "continue":
        assert expected.endswith("<|im_start|>assistant\nThe capital of France is")


def test_continuing_keeps_or_trims_trailing_space_as_hf_does():
    keeps = ChatTemplate("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}|{% endfor %}")
    trims = ChatTemplate(
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] | trim }}|{% endfor %}"
    )
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure, "}]
    assert keeps.render(messages, ending="continue") == "<user>hi|<assistant>Sure, "
    assert trims.render(messages, ending="continue") == "<user>hi|<assistant>Sure,"
    dropping = ChatTemplate(
        "{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] }}"
        "{% endif %}{% endfor %}"
    )
    with pytest.raises(TemplateError, match="cannot be continued") as info:
        dropping.render(messages, ending="continue")
    assert info.value.status_code == 400
    assert ChatTemplate(None).render(messages, ending="continue") == "user: hi\nassistant: Sure, "


def test_template_stop_tokens_end_generation(engines):
    hf, gguf = engines
    assert hf.chat_template.stop_tokens() == gguf.chat_template.stop_tokens() == ["<|im_end|>"]
    im_end = hf.tokenize("<|im_end|>", add_special_tokens=False)
    assert im_end == gguf.tokenize("<|im_end|>", add_special_tokens=False)
    assert im_end[0] in hf._eos_ids
    assert gguf._stop_ids() == im_end


def test_render_options_and_extra_variables():
    template = ChatTemplate(
        "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
        "{% if tools %}tools: {{ tools | tojson }}\n{% endif %}"
        "{% if add_generation_prompt %}[assistant]{% endif %}",
        eos_token="</s>",
    )
    messages = [{"role": "user", "content": "hi <b>"}]
    assert template.render(messages) == "[user] hi <b>\n[assistant]"
    assert template.render(messages, ending="none") == "[user] hi <b>\n"
    tools = [{"type": "function", "function": {"name": "get_time", "description": "<now>"}}]
    rendered = template.render(messages, tools=tools)
    assert f"tools: {json.dumps(tools)}" in rendered  # HF's tojson: no HTML escaping
    assert template.stop_tokens() == ["</s>"]


def test_template_errors_are_client_errors():
    refusing = ChatTemplate("{{ raise_exception('roles must alternate') }}")
    with pytest.raises(TemplateError, match="roles must alternate") as info:
        refusing.render([{"role": "user", "content": "x"}])
    assert info.value.status_code == 400
    with pytest.raises(TemplateError, match="failed to render"):
        ChatTemplate("{{ messages[0].content.upper() + 1 }}").render(
            [{"role": "user", "content": "x"}]
        )
    sandboxed = ChatTemplate("{{ messages.__class__.__mro__ }}")
    with pytest.raises(TemplateError):
        sandboxed.render([{"role": "user", "content": "x"}])


def test_no_template_gives_a_transcript():
    plain = ChatTemplate(None)
    assert plain.render([{"role": "user", "content": "hi"}]) == "user: hi\nassistant:"


def test_sampling_defaults_from_the_model(tmp_path: Path):
    (tmp_path / "generation_config.json").write_text(
        json.dumps({"temperature": 0.3, "top_p": 0.8, "top_k": 20, "eos_token_id": 2})
    )
    model = from_generation_config(tmp_path)
    assert (model.temperature, model.top_p, model.top_k, model.repetition_penalty) == (
        0.3,
        0.8,
        20,
        None,
    )
    (tmp_path / "generation_config.json").write_text(json.dumps({"do_sample": False}))
    assert from_generation_config(tmp_path).temperature == 0.0
    assert from_generation_config(tmp_path / "missing").temperature is None
    gguf = from_gguf_metadata({"general.sampling.temp": "0.6", "general.sampling.top_k": "40"})
    assert (gguf.temperature, gguf.top_k, gguf.top_p) == (0.6, 40, None)

    settings = Settings(default_temperature=0.5, default_top_p=0.95)
    # Request wins, then the model, then the server.
    resolved = ParamsInput(top_p=0.7).sampling(16, model, settings)
    assert (resolved.temperature, resolved.top_p, resolved.top_k) == (0.3, 0.7, 20)
    fallback = ParamsInput().sampling(16, from_gguf_metadata({}), settings)
    assert (fallback.temperature, fallback.top_p, fallback.top_k, fallback.repetition_penalty) == (
        0.5,
        0.95,
        0,
        1.0,
    )
