"""Backend registry: lazy import, clear 503 naming what to install, selection by format."""

from __future__ import annotations

import pytest

from app.backends import registry
from app.backends.registry import BackendEntry, availability, backend_class, choose_backend
from app.core.errors import BackendUnavailable, InvalidRequest

MISSING = BackendEntry(
    name="phantom",
    module="app.backends.phantom",
    class_name="PhantomBackend",
    requires=("phantom_engine_not_installed",),
    install_hint="pip install phantom-engine==1.0",
    formats=("gguf",),
    description="An engine that is not installed.",
)


@pytest.fixture
def with_phantom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BACKENDS, "phantom", MISSING)


def test_missing_engine_is_reported_with_install_hint(with_phantom) -> None:
    info = availability("phantom")
    assert not info.available
    assert "phantom_engine_not_installed" in info.reason
    assert "pip install phantom-engine==1.0" in info.reason
    with pytest.raises(BackendUnavailable) as raised:
        backend_class("phantom")
    assert raised.value.status_code == 503
    assert "pip install phantom-engine==1.0" in raised.value.message


def test_explicit_backend_must_serve_the_format(with_phantom) -> None:
    with pytest.raises(InvalidRequest):
        choose_backend("hf", "phantom")


def test_unknown_backend_name() -> None:
    with pytest.raises(InvalidRequest) as raised:
        choose_backend("hf", "warp-drive")
    assert raised.value.param == "backend"


def test_auto_picks_an_installed_backend_for_hf() -> None:
    name, why = choose_backend("hf", "auto")
    assert availability(name).available
    assert why.startswith("auto")
    assert backend_class(name).name == name
