"""``/v1/embeddings`` with the official openai client."""

from __future__ import annotations

import numpy as np
import openai
import pytest

from tests.rag.conftest import RagApp


@pytest.fixture(scope="module")
def client(rag_embedded: RagApp) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{rag_embedded.url}/v1", api_key="unused", max_retries=0)


def test_embeddings_float_and_base64(client: openai.OpenAI) -> None:
    texts = [
        "The cat sleeps on the sofa.",
        "A kitten naps on the couch.",
        "Quarterly tax filing deadlines.",
    ]
    default = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)  # base64 on wire
    floats = client.embeddings.create(
        model="all-MiniLM-L6-v2", input=texts, encoding_format="float"
    )
    assert default.model == "all-MiniLM-L6-v2"
    assert [d.index for d in default.data] == [0, 1, 2]
    a = np.array([d.embedding for d in default.data])
    b = np.array([d.embedding for d in floats.data])
    assert a.shape == (3, 384)
    assert np.allclose(a, b, atol=1e-6)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-3)
    assert a[0] @ a[1] > a[0] @ a[2] + 0.2  # paraphrases are closer than unrelated text
    assert default.usage.prompt_tokens == default.usage.total_tokens > 0

    single = client.embeddings.create(model="all-MiniLM-L6-v2", input="hello")
    assert len(single.data) == 1 and len(single.data[0].embedding) == 384


def test_embeddings_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.embeddings.create(model="text-embedding-3-large", input="x")
    assert missing.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="all-MiniLM-L6-v2", input=[])
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="all-MiniLM-L6-v2", input="word " * 600)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="all-MiniLM-L6-v2", input="x", dimensions=10)
