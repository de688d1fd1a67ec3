"""Contract tests: the official ``openai`` SDK against the real server with the tiny model."""

from __future__ import annotations

import openai
import pytest
from transformers import AutoTokenizer

from tests.helpers.server import ServerProcess


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


MESSAGES = [
    {"role": "system", "content": "You write Python."},
    {"role": "user", "content": "def read_config(path):"},
]


def _prompt_tokens(tokenizer, messages) -> int:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_models_lists_tiny(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "tiny" in ids
    assert client.models.retrieve("tiny").id == "tiny"


def test_chat_completion_non_streamed(client: openai.OpenAI, tokenizer) -> None:
    reply = client.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=24, temperature=0
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens == _prompt_tokens(tokenizer, MESSAGES)
    assert 1 <= reply.usage.completion_tokens <= 24
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    # The completion's text is what its tokens decode to (no stop string configured).
    if choice.finish_reason == "length":
        assert reply.usage.completion_tokens == 24
    timings = reply.model_extra["timings"]
    assert timings["backend"] == "transformers" and timings["total_ms"] > 0


def test_chat_completion_streamed_matches_non_streamed(client: openai.OpenAI, tokenizer) -> None:
    whole = client.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=30, temperature=0
    )
    stream = client.chat.completions.create(
        model="tiny",
        messages=MESSAGES,
        max_tokens=30,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finish, usage, chunks = [], None, None, 0
    for chunk in stream:
        chunks += 1
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
    assert chunks > 3, "tokens must arrive as separate chunks"
    assert "".join(pieces) == whole.choices[0].message.content
    assert finish == whole.choices[0].finish_reason
    assert usage is not None
    assert usage.prompt_tokens == _prompt_tokens(tokenizer, MESSAGES)
    assert usage.completion_tokens == whole.usage.completion_tokens


def test_completion_legacy_api(client: openai.OpenAI, tokenizer) -> None:
    prompt = "import os\nimport sys\n\n"
    reply = client.completions.create(model="tiny", prompt=prompt, max_tokens=12, temperature=0)
    assert reply.usage.prompt_tokens == len(tokenizer(prompt)["input_ids"])
    assert reply.usage.completion_tokens <= 12
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(
            model="tiny", prompt=prompt, max_tokens=12, temperature=0, stream=True
        )
        if c.choices
    )
    assert streamed == reply.choices[0].text


def test_same_seed_same_text_different_seed_differs(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str:
        reply = client.chat.completions.create(
            model="tiny", messages=MESSAGES, max_tokens=40, temperature=1.0, seed=seed
        )
        return reply.choices[0].message.content or ""

    first, second = sample(7), sample(7)
    assert first == second
    others = {sample(s) for s in (8, 9, 10)}
    assert others != {first}, "different seeds should not all give the seeded text"


def test_stop_sequence_ends_text_before_it(client: openai.OpenAI) -> None:
    args = {
        "model": "tiny",
        "prompt": "def main():\n",
        "max_tokens": 40,
        "temperature": 0.8,
        "seed": 5,
    }
    base = client.completions.create(**args).choices[0].text
    # Pick a stop string that occurs in the unconstrained (seeded) output, after its start.
    candidates = [base[i : i + 3] for i in range(2, len(base) - 3) if base[i : i + 3].strip()]
    assert candidates, f"output too short to pick a stop string: {base!r}"
    stop = candidates[0]
    cut = base.index(stop)
    reply = client.completions.create(**args, stop=[stop])
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].text == base[:cut]
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(**args, stop=[stop], stream=True)
        if c.choices
    )
    assert streamed == base[:cut]


def test_logprobs(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="tiny",
        messages=MESSAGES,
        max_tokens=5,
        temperature=0,
        logprobs=True,
        top_logprobs=3,
    )
    content = reply.choices[0].logprobs.content
    assert len(content) == reply.usage.completion_tokens
    for item in content:
        assert item.logprob <= 0
        assert len(item.top_logprobs) == 3
        # Greedy: the chosen token is the likeliest one.
        assert item.logprob == pytest.approx(item.top_logprobs[0].logprob, abs=1e-4)
