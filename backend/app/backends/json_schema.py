"""Walks over a JSON schema: its subschemas, keywords a grammar engine cannot enforce, and
local ``$ref`` pointers (which must resolve, and which move when a schema is nested)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any
from urllib.parse import unquote

# Keywords whose values are schemas (or maps / lists of schemas), in the order they are walked.
# Only these are walked: a "$ref" key inside `const`, `enum` or `default` is data, not a reference.
_SUB_ONE = (
    "items",
    "additionalProperties",
    "additionalItems",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_SUB_MAP = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SUB_LIST = ("anyOf", "oneOf", "allOf", "prefixItems", "items")


def subschemas(schema: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in ``schema`` (itself first, then depth first) with its pointer."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for key in _SUB_ONE:
        if isinstance(schema.get(key), dict):
            yield from subschemas(schema[key], f"{path}/{key}")
    for key in _SUB_MAP:
        value = schema.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield from subschemas(sub, f"{path}/{key}/{escape(str(name))}")
    for key in _SUB_LIST:
        value = schema.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield from subschemas(sub, f"{path}/{key}/{i}")


def escape(token: str) -> str:
    """One JSON-pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def find_keyword(schema: Any, keywords: Collection[str]) -> str | None:
    """The first of ``keywords`` used in ``schema``, as "'keyword' at POINTER", a ``$ref`` to
    another document likewise, or None."""
    for path, node in subschemas(schema):
        for key in node:
            if key in keywords:
                return f"'{key}' at {path}"
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return f"'$ref' to another document ({ref}) at {path}"
    return None


def ref_tokens(ref: str) -> list[str]:
    """The reference tokens of a local pointer ``#/a/b`` (percent- and ~-escapes undone)."""
    return [unquote(raw).replace("~1", "/").replace("~0", "~") for raw in ref[2:].split("/")]


def resolve(root: Any, ref: str) -> Any:
    """The part of ``root`` that the local reference ``ref`` (``#`` or ``#/a/b``) points at;
    KeyError when it points at nothing."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = root
    for token in ref_tokens(ref):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(ref)
    return node


def unresolved_ref(schema: Any) -> str | None:
    """The first local ``$ref`` that points at nothing in ``schema`` (with where it is), as
    "'$ref' REF at POINTER", or None. Anchors (``#name``) count when some subschema has that
    ``$anchor``."""
    nodes = list(subschemas(schema))
    anchors = {node["$anchor"] for _, node in nodes if isinstance(node.get("$anchor"), str)}
    for path, node in nodes:
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            continue
        if ref != "#" and not ref.startswith("#/"):
            if ref[1:] in anchors:
                continue
        else:
            try:
                target = resolve(schema, ref)
            except KeyError:
                pass
            else:
                if isinstance(target, dict | bool):
                    continue
        return f"'$ref' {ref} at {path}"
    return None


def has_local_ref(schema: Any) -> bool:
    """Whether some subschema of ``schema`` refers into the document (``$ref`` starting
    with ``#``): then it cannot be copied into another document as it is."""
    return any(
        isinstance(node.get("$ref"), str) and node["$ref"].startswith("#")
        for _, node in subschemas(schema)
    )


def rewrite_refs(schema: Any, change: Callable[[str], str]) -> Any:
    """A copy of ``schema`` with each local ``$ref`` (``#`` or ``#/...``) replaced by
    ``change(ref)``; data (``const``, ``enum``, ``default``) is left as it is."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    ref = out.get("$ref")
    if isinstance(ref, str) and (ref == "#" or ref.startswith("#/")):
        out["$ref"] = change(ref)
    for key in _SUB_ONE:
        if isinstance(out.get(key), dict):
            out[key] = rewrite_refs(out[key], change)
    for key in _SUB_MAP:
        if isinstance(out.get(key), dict):
            out[key] = {name: rewrite_refs(sub, change) for name, sub in out[key].items()}
    for key in _SUB_LIST:
        if isinstance(out.get(key), list):
            out[key] = [rewrite_refs(sub, change) for sub in out[key]]
    return out
