"""Backend plans without a server: preference by format, explicit requests, fallback, and files
an engine says it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.backends import registry
from app.backends.base import ModelSource
from app.backends.ctransformers.backend import CTransformersBackend
from app.backends.registry import BackendEntry, plan_backends
from app.core.errors import BackendUnavailable, InvalidRequest

MISSING_GGUF_ENGINE = BackendEntry(
    name="phantom",
    module="app.backends.phantom",
    class_name="Phantom",
    requires=("phantom_engine_not_installed",),
    install_hint="pip install phantom==1",
    formats=("gguf",),
    description="not installed",
)


def _gguf(path: Path) -> ModelSource:
    return ModelSource(path.name, path, "gguf")


def test_gguf_prefers_llamacpp_then_ctransformers(tiny_gguf: Path) -> None:
    plan = plan_backends(_gguf(tiny_gguf), "auto")
    assert [name for name, _ in plan] == ["llamacpp", "ctransformers"]
    assert plan[0][1].startswith("auto")


def test_explicit_request_is_the_whole_plan_without_fallback(tiny_gguf: Path) -> None:
    assert plan_backends(_gguf(tiny_gguf), "ctransformers") == [("ctransformers", "requested")]
    with_fallback = plan_backends(_gguf(tiny_gguf), "ctransformers", allow_fallback=True)
    assert [name for name, _ in with_fallback] == ["ctransformers", "llamacpp"]


def test_missing_engine_503_or_fallback(tiny_gguf: Path, monkeypatch) -> None:
    monkeypatch.setitem(registry.BACKENDS, "phantom", MISSING_GGUF_ENGINE)
    with pytest.raises(BackendUnavailable) as raised:
        plan_backends(_gguf(tiny_gguf), "phantom")
    assert "pip install phantom==1" in raised.value.message
    plan = plan_backends(_gguf(tiny_gguf), "phantom", allow_fallback=True)
    assert plan[0][0] == "llamacpp"
    assert "requested phantom is not installed" in plan[0][1]


def test_wrong_format_is_400(tiny_gguf: Path) -> None:
    with pytest.raises(InvalidRequest):
        plan_backends(_gguf(tiny_gguf), "transformers")


def test_ctransformers_reads_untied_files_only(tiny_gguf: Path, tiny_tied_gguf: Path) -> None:
    assert CTransformersBackend.cannot_serve(_gguf(tiny_gguf)) is None
    reason = CTransformersBackend.cannot_serve(_gguf(tiny_tied_gguf))
    assert reason is not None and "output.weight" in reason
    plan = plan_backends(_gguf(tiny_tied_gguf), "ctransformers")
    assert [name for name, _ in plan] == ["llamacpp"]
    assert "ctransformers cannot serve this model" in plan[0][1]


def test_prefixed_ids_have_their_own_backends() -> None:
    ollama = ModelSource("ollama:x", Path(), "ollama", {"name": "x"})
    remote = ModelSource("remote:a/b", Path(), "remote", {"endpoint": "a", "name": "b"})
    assert plan_backends(ollama, None)[0][0] == "ollama"
    assert plan_backends(remote, None)[0][0] == "remote"
