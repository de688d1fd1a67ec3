"""Embeddings for every API that serves them (``/v1/embeddings``, Ollama's ``/api/embed``).

A model name is answered by one of two sources:

- a sentence-transformers embedder of the RAG service (``MP_RAG_EMBEDDING_MODEL`` and
  ``MP_RAG_EXTRA_EMBEDDING_MODELS``), loaded once on first use;
- a model of the model manager whose backend embeds (a GGUF on llama.cpp, an Ollama model).

Both refuse over-long inputs before tokenizing (``MP_PROMPT_CHARS_PER_TOKEN``), count tokens,
and do every tokenizer and model call in a worker thread: texts may be long and the event loop
serves every other client meanwhile. Routes only translate requests and responses.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.core.config import GenerationSettings
from app.core.errors import ContextLengthExceeded, InvalidRequest
from app.services.generation.capabilities import check_embeddings
from app.services.generation.limits import check_input_chars
from app.services.models.store import LocalModel, folder_size, from_hf_cache

if TYPE_CHECKING:
    from app.services.models.manager import ModelManager
    from app.services.rag.embedder import Embedder, EmbedderPool

MAX_INPUTS = 2048


@dataclass
class Embeddings:
    """Unit-length vectors (one row per input), tokens per input (0 where the backend does
    not tokenize here) and the seconds spent loading the model for this request."""

    vectors: np.ndarray
    token_counts: list[int]
    load_s: float = 0.0
    total_s: float = 0.0

    @property
    def tokens(self) -> int:
        return sum(self.token_counts)


def input_texts(value: str | list[str] | list[int] | list[list[int]]) -> list[str]:
    """The ``input`` of a request as 1 to :data:`MAX_INPUTS` non-empty strings (400 if not).
    Token-id arrays (OpenAI allows them) are refused: no embedder here reads token ids."""
    items: list[object] = [value] if isinstance(value, str) else list(value)
    if not items:
        raise InvalidRequest("input must not be empty.", param="input")
    texts = [t for t in items if isinstance(t, str)]
    if len(texts) != len(items):
        raise InvalidRequest(
            "input must be a string or a list of strings; token-id arrays are not supported.",
            param="input",
        )
    if len(texts) > MAX_INPUTS:
        raise InvalidRequest(f"input has {len(texts)} items; at most {MAX_INPUTS}.", param="input")
    if any(not t for t in texts):
        raise InvalidRequest("input strings must not be empty.", param="input")
    return texts


class EmbeddingService:
    """Embeds texts with a named model from whichever source serves that name."""

    def __init__(
        self, settings: GenerationSettings, manager: ModelManager, embedders: EmbedderPool | None
    ) -> None:
        self.settings = settings
        self.manager = manager
        self.embedders = embedders

    def serves_by_embedder(self, model: str) -> bool:
        return self.embedders is not None and model in self.embedders.allowed()

    def embedder_models(self) -> list[LocalModel]:
        """The models the RAG embedders serve by name, for the model listings (``/v1/models``,
        Ollama's ``/api/tags`` and ``/api/show``): each one whose files are on this machine (a
        folder, the default MiniLM inside its wheel, or the HF cache), as an HF folder.
        Blocking (reads file sizes): call it in a worker thread."""
        if self.embedders is None:
            return []
        from app.services.rag.embedder import model_folder

        found = []
        for name in self.embedders.allowed():
            folder = model_folder(name)
            if folder is not None and folder.is_dir():
                found.append(LocalModel(name, folder, "hf", folder_size(folder)))
            elif folder is None and (cached := from_hf_cache(name)) is not None:
                found.append(cached)
        return found

    def embedder_loaded(self, model: str) -> bool:
        return self.embedders is not None and self.embedders.is_loaded(model)

    async def embed(
        self,
        model: str,
        texts: list[str],
        *,
        dimensions: int | None = None,
        embedders_only: bool = False,
    ) -> Embeddings:
        """Vectors for ``texts``; ``embedders_only`` limits the names to the RAG embedders
        (404 naming the allowed ones otherwise), as ``/v1/embeddings`` documents."""
        started = time.perf_counter()
        if embedders_only or self.serves_by_embedder(model):
            if self.embedders is None:
                raise InvalidRequest("Embeddings are not available on this server.", param="model")
            result = await self._by_embedder(self.embedders.get(model, param="model"), model, texts)
        else:
            result = await self._by_engine(model, texts)
        width = result.vectors.shape[1] if result.vectors.size else 0
        if dimensions is not None and dimensions != width:
            raise InvalidRequest(
                f"'{model}' has {width} dimensions; dimensions {dimensions} is not supported.",
                param="dimensions",
            )
        result.total_s = time.perf_counter() - started
        return result

    async def _by_embedder(self, embedder: Embedder, model: str, texts: list[str]) -> Embeddings:
        # max_tokens may load the model: read it in a thread, then refuse long texts before any
        # tokenizing.
        max_tokens = await asyncio.to_thread(lambda: embedder.max_tokens)
        check_input_chars(texts, max_tokens, self.settings.prompt_chars_per_token)

        def work() -> tuple[np.ndarray | None, list[int]]:
            counts = [embedder.count_tokens(t) for t in texts]
            if max(counts) > embedder.max_tokens:
                return None, counts
            return embedder.embed(texts), counts

        vectors, counts = await asyncio.to_thread(work)
        if vectors is None:
            worst = max(range(len(counts)), key=counts.__getitem__)
            raise ContextLengthExceeded(
                f"input[{worst}] has {counts[worst]} tokens; {model} reads at most "
                f"{max_tokens}. Split the text into smaller pieces.",
                param="input",
            )
        return Embeddings(np.asarray(vectors, dtype=np.float32), counts)

    async def _by_engine(self, model: str, texts: list[str]) -> Embeddings:
        loaded, load_s = await self.manager.get(model, reserve=False)
        engine = loaded.backend
        check_embeddings(engine.capabilities, loaded.backend_name, model)
        counts = [0] * len(texts)
        if engine.capabilities.local_tokenizer:
            check_input_chars(texts, engine.context_length, self.settings.prompt_chars_per_token)
        vectors = await asyncio.to_thread(engine.embed, texts)
        if engine.capabilities.local_tokenizer:
            counts = await asyncio.to_thread(lambda: [len(engine.tokenize(t)) for t in texts])
        return Embeddings(np.asarray(vectors, dtype=np.float32), counts, load_s)
