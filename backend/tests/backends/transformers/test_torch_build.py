"""Loading a Transformers model while the RAG embedder loads in another thread gives both
their real weights (from_pretrained is not thread-safe: transformers/torch_build.py). Without the
lock, 2 of 3 rounds here ended in "Cannot copy out of meta tensor" or random weights."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from safetensors import safe_open

from app.backends.base import ModelSource
from app.backends.transformers.backend import TransformersBackend
from app.core.config import Settings
from app.services.models.bundled import HF_ID
from app.services.rag.embedder import EmbedderPool


def _collecting(fn: Callable[[], object], errors: list[BaseException]) -> Callable[[], None]:
    """``fn`` for a thread: what it raises goes into ``errors``, for the test to assert."""

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    return run


def test_models_built_side_by_side_get_their_weights(smollm2_dir: Path) -> None:
    folder = smollm2_dir / HF_ID
    name = "model.layers.3.mlp.down_proj.weight"
    with safe_open(folder / "model.safetensors", "pt") as saved:
        expected = saved.get_tensor(name)
    for _ in range(3):
        errors: list[BaseException] = []
        backend = TransformersBackend(
            ModelSource(HF_ID, folder, "hf"), Settings(threads=1, dtype="fp32")
        )
        pool = EmbedderPool(Settings())
        threads = [
            threading.Thread(target=_collecting(backend.load, errors)),
            threading.Thread(target=_collecting(lambda p=pool: p.get().model, errors)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        loaded = dict(backend._model.named_parameters())[name]
        assert loaded.device.type == "cpu"
        assert loaded.to(expected.dtype).equal(expected)
        backend.unload()
