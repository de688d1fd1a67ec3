"""The layering the architecture doc promises, checked on the source (issues 19 and 27):

- every import arrow between the parts of ``app/`` (core, the neutral value types, schemas,
  backends, services, api, entry points) follows the "Import rules" table of
  ``docs/architecture.md``, read from the doc itself so the two cannot drift;
- a request's sampling fields become ``ParamsInput`` in one place
  (``ParamsInput.from_request``): no route builds one field by field;
- only the generation service polls for a client that left (streams are cancelled by the
  server instead).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
NOTHING = "—"


@dataclass(frozen=True)
class Part:
    name: str
    prefixes: tuple[str, ...]  # dotted module names that belong to it (and their submodules)
    may: frozenset[str]
    must_not: frozenset[str]


def _names(cell: str) -> frozenset[str]:
    cell = cell.strip()
    return frozenset() if cell == NOTHING else frozenset(n.strip() for n in cell.split(","))


def _rules() -> dict[str, Part]:
    """The rows of the table under "## Import rules" in docs/architecture.md."""
    lines = DOC.read_text().splitlines()
    start = lines.index("## Import rules")
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert rows[0] == ["Part", "Modules", "May import", "Must not import"], rows[0]
    parts = {}
    for cells in rows[2:]:  # after the header and its --- line
        part = Part(
            cells[0],
            tuple(re.findall(r"`([\w.]+)`", cells[1])),
            _names(cells[2]),
            _names(cells[3]),
        )
        parts[part.name] = part
    return parts


RULES = _rules()


def _part_of(module: str) -> str | None:
    """The part a dotted module name belongs to: the one with the longest matching prefix."""
    best, length = None, 0
    for part in RULES.values():
        for prefix in part.prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = part.name, len(prefix)
    return best


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = APP.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _modules(folder: str) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted((APP / folder).rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _imports(tree: ast.Module, module: str = "", is_package: bool = False) -> Iterator[str]:
    """Every module ``tree`` imports (also inside functions and under ``TYPE_CHECKING``); ``from
    M import N`` counts as importing ``M.N`` when that is a module, else ``M``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _rel(path: Path) -> str:
    return str(path.relative_to(APP.parent))


def test_the_table_names_every_arrow_once() -> None:
    names = set(RULES)
    for part in RULES.values():
        others = names - {part.name}
        assert part.may | part.must_not == others, (part.name, others - part.may - part.must_not)
        assert not part.may & part.must_not, (part.name, part.may & part.must_not)


def test_every_module_belongs_to_a_part() -> None:
    stray = [
        _rel(path)
        for path in sorted(APP.rglob("*.py"))
        if path != APP / "__init__.py" and _part_of(_module_name(path)) is None
    ]
    assert not stray, f"add them to the Import rules table of docs/architecture.md: {stray}"


@pytest.mark.parametrize("name", sorted(RULES))
def test_imports_follow_the_architecture(name: str) -> None:
    bad = []
    for path in sorted(APP.rglob("*.py")):
        module = _module_name(path)
        if _part_of(module) != name:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for imported in sorted(set(_imports(tree, module, path.name == "__init__.py"))):
            target = _part_of(imported)
            if target is not None and target != name and target not in RULES[name].may:
                bad.append(f"{_rel(path)}: {imported} ({name} -> {target})")
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
