"""Every dialect's request becomes the same ParamsInput through ``ParamsInput.from_request``:
shared knobs by name, the dialect's own names and shapes as overrides."""

from __future__ import annotations

from app.api.anthropic.translate import params as anthropic_params
from app.api.ollama.translate import DEFAULT_REPEAT_PENALTY, params_from
from app.api.openai.translate import chat_params, completion_params
from app.api.routes.generate import request_params
from app.schemas.anthropic import MessagesRequest
from app.schemas.generation import GenerateRequest
from app.schemas.ollama import OllamaOptions
from app.schemas.openai import ChatCompletionRequest, CompletionRequest
from app.schemas.rag import AnswerRequest
from app.services.generation import ParamsInput

KNOBS = {"temperature": 0.3, "top_p": 0.8, "seed": 7}


def test_openai_chat_maps_its_own_names() -> None:
    body = ChatCompletionRequest(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        max_completion_tokens=12,
        max_tokens=99,
        stop="END",
        logprobs=True,
        top_logprobs=2,
        top_k=5,
        **KNOBS,
    )
    p = chat_params(body)
    assert (p.max_tokens, p.stop, p.logprobs, p.top_k) == (12, ["END"], 2, 5)
    assert (p.temperature, p.top_p, p.seed) == (0.3, 0.8, 7)


def test_legacy_completions_default_to_16_tokens() -> None:
    p = completion_params(CompletionRequest(model="m", prompt="x", **KNOBS))
    assert p.max_tokens == 16 and p.stop == [] and p.seed == 7


def test_anthropic_and_native_share_the_knobs() -> None:
    a = anthropic_params(
        MessagesRequest(
            model="m",
            max_tokens=20,
            messages=[{"role": "user", "content": "hi"}],
            stop_sequences=["\n\n"],
            temperature=0.3,
            top_p=0.8,
        )
    )
    assert (a.max_tokens, a.stop, a.temperature, a.top_p, a.top_k) == (20, ["\n\n"], 0.3, 0.8, 0)
    n = request_params(GenerateRequest(prompt="x", max_tokens=5, stop=["."], **KNOBS))
    assert (n.max_tokens, n.stop, n.seed, n.top_k) == (5, ["."], 7, None)


def test_rag_top_k_is_not_the_sampling_top_k() -> None:
    body = AnswerRequest(collection="c", question="q", top_k=8, sampling_top_k=None)
    p = ParamsInput.from_request(body, top_k=body.sampling_top_k, stop=body.stop)
    assert p.top_k is None


def test_ollama_options_fill_ollama_defaults() -> None:
    p = params_from(OllamaOptions(num_predict=9, seed=3, stop=["x"]), None)
    assert (p.max_tokens, p.seed, p.stop, p.repetition_penalty) == (
        9,
        3,
        ["x"],
        DEFAULT_REPEAT_PENALTY,
    )
