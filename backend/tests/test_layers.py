"""The layering the architecture doc promises, checked on the source (issue 19, item 7):

- ``app/core`` is the ground floor: it imports nothing from services, API or backends;
- routes translate and call services: ``app/api`` takes only the value types of
  ``app.backends.types`` from the backends layer;
- a request's sampling fields become ``ParamsInput`` in one place
  (``ParamsInput.from_request``): no route builds one field by field;
- only the generation service polls for a client that left (streams are cancelled by the
  server instead).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


def _modules(folder: str) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted((APP / folder).rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _imports(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _rel(path: Path) -> str:
    return str(path.relative_to(APP.parent))


def test_core_imports_no_upper_layer() -> None:
    bad = [
        f"{_rel(path)}: {name}"
        for path, tree in _modules("core")
        for name in _imports(tree)
        if name.startswith(("app.services", "app.api", "app.backends"))
    ]
    assert not bad, bad


def test_routes_reach_backends_only_through_services() -> None:
    bad = [
        f"{_rel(path)}: {name}"
        for path, tree in _modules("api")
        for name in _imports(tree)
        if name.startswith("app.backends") and name != "app.backends.types"
    ]
    assert not bad, bad


def test_no_route_builds_params_field_by_field() -> None:
    bad = []
    for path, tree in _modules("api"):
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "ParamsInput"
            ):
                bad.append(f"{_rel(path)}:{node.lineno}")
    assert not bad, f"use ParamsInput.from_request: {bad}"


def test_only_the_generation_service_polls_for_disconnects() -> None:
    polling = []
    for folder in ("api", "services"):
        for path, tree in _modules(folder):
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Await)
                    and isinstance(node.value, ast.Call)
                    and getattr(node.value.func, "id", getattr(node.value.func, "attr", ""))
                    == "is_disconnected"
                ):
                    polling.append(_rel(path))
    assert set(polling) == {"app/services/generation/service.py"}, polling
