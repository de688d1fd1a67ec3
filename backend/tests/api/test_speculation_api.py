"""Speculative decoding through the APIs, over a socket: OpenAI's Predicted Outputs with the
official SDK (usage details, same answer), the ``speculation`` extension on /v1 and
/api/v1 (timings), and bad input as 400s in OpenAI's envelope."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.helpers.server import ServerProcess

# The tiny model repeats itself under greedy decoding, which prompt lookup drafts well; a mild
# repetition penalty makes some drafts wrong, so rollbacks happen too.
MESSAGES = [{"role": "user", "content": "Repeat after me: the cat sat on the mat, the cat sat"}]
GREEDY = {"temperature": 0, "max_tokens": 40}
PENALTY = {"repetition_penalty": 1.3}


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def _plain(client: openai.OpenAI) -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(
        model="tiny", messages=MESSAGES, extra_body=PENALTY, **GREEDY
    )


def test_prediction_of_the_answer_is_accepted(client: openai.OpenAI) -> None:
    plain = _plain(client)
    answer = plain.choices[0].message.content
    assert answer and plain.usage.completion_tokens > 10
    details = plain.usage.completion_tokens_details
    assert details.accepted_prediction_tokens == 0 and details.rejected_prediction_tokens == 0
    predicted = client.chat.completions.create(
        model="tiny",
        messages=MESSAGES,
        prediction={"type": "content", "content": answer},
        extra_body=PENALTY,
        **GREEDY,
    )
    assert predicted.choices[0].message.content == answer
    details = predicted.usage.completion_tokens_details
    # Every token after the first (which the prompt's prefill samples) can come from the draft.
    assert details.accepted_prediction_tokens >= plain.usage.completion_tokens // 2
    timings = predicted.model_extra["timings"]
    assert timings["accepted_tokens"] == details.accepted_prediction_tokens
    assert timings["draft_tokens"] >= timings["accepted_tokens"]
    assert timings["acceptance_rate"] == timings["accepted_tokens"] / timings["draft_tokens"]


def test_partly_wrong_prediction_streams_the_same_answer(client: openai.OpenAI) -> None:
    answer = _plain(client).choices[0].message.content
    assert answer
    words = answer.split(" ")
    words[len(words) // 2] = "elephant"  # one word of the prediction is wrong
    stream = client.chat.completions.create(
        model="tiny",
        messages=MESSAGES,
        prediction={"type": "content", "content": [{"type": "text", "text": " ".join(words)}]},
        stream=True,
        stream_options={"include_usage": True},
        extra_body=PENALTY,
        **GREEDY,
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage is not None:
            usage = chunk.usage
    assert text == answer
    assert usage is not None
    details = usage.completion_tokens_details
    assert details.accepted_prediction_tokens > 0
    assert details.rejected_prediction_tokens > 0


def test_lookup_extension_on_both_apis(server: ServerProcess, client: openai.OpenAI) -> None:
    plain = _plain(client)
    fast = client.chat.completions.create(
        model="tiny",
        messages=MESSAGES,
        extra_body={**PENALTY, "speculation": {"mode": "ngram", "max_draft": 4}},
        **GREEDY,
    )
    assert fast.choices[0].message.content == plain.choices[0].message.content
    assert fast.model_extra["timings"]["draft_tokens"] > 0
    assert plain.model_extra["timings"]["draft_tokens"] == 0
    native = httpx.post(
        f"{server.url}/api/v1/models/generate",
        json={
            "model": "tiny",
            "messages": MESSAGES,
            "speculation": {"mode": "ngram"},
            **GREEDY,
            **PENALTY,
        },
        timeout=60,
    ).json()
    assert native["text"] == plain.choices[0].message.content
    assert native["timings"]["draft_tokens"] > 0
    assert native["timings"]["accepted_tokens"] <= native["timings"]["draft_tokens"]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"prediction": {"type": "text", "content": "x"}}, "prediction.type"),
        ({"prediction": {"type": "content", "content": 5}}, "prediction.content"),
        ({"prediction": {"type": "content"}}, "prediction.content"),
        ({"prediction": "def f(): pass"}, "prediction"),
        ({"prediction": {"type": "content", "content": [{"type": "image"}]}}, "prediction"),
        ({"speculation": {"mode": "draft-model"}}, "speculation.mode"),
        ({"speculation": {"max_draft": -1}}, "speculation.max_draft"),
    ],
)
def test_bad_prediction_or_speculation_is_400(
    server: ServerProcess, extra: dict, param: str
) -> None:
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "tiny", "messages": MESSAGES, **extra},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"].startswith(param), error
    assert "Traceback" not in response.text
