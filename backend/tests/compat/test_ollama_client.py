"""The official ``ollama`` client: ``embeddings()`` (Ollama's older ``/api/embeddings``),
``embed()`` and ``chat()``, as its users call them."""

from __future__ import annotations

import math

import ollama
import pytest

from tests.compat.conftest import EMBEDDER, QUESTION, SMOLLM2
from tests.helpers.server import ServerProcess


@pytest.fixture(scope="module")
def client(compat_server: ServerProcess) -> ollama.Client:
    return ollama.Client(host=compat_server.url)


def test_embeddings_and_embed_agree(client: ollama.Client) -> None:
    texts = ["The cat sat on the mat.", "A cat was sitting on a mat.", "Stock prices fell."]
    old = [client.embeddings(model=EMBEDDER, prompt=t).embedding for t in texts]
    new = client.embed(model=EMBEDDER, input=texts).embeddings
    assert all(a == pytest.approx(b, abs=1e-5) for a, b in zip(old, new, strict=True))

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
            sum(x * x for x in a) * sum(y * y for y in b)
        )

    assert cos(new[0], new[1]) > cos(new[0], new[2])


def test_chat_and_stream(client: ollama.Client) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    options = {"temperature": 0, "num_predict": 12}
    reply = client.chat(model=SMOLLM2, messages=messages, options=options)
    assert reply.message.content.strip() and reply.done
    chunks = list(client.chat(model=SMOLLM2, messages=messages, options=options, stream=True))
    assert "".join(c.message.content for c in chunks) == reply.message.content
