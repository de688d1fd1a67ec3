"""A walk over a JSON schema that finds keywords a grammar engine cannot enforce."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

# Keywords whose values are schemas (or maps / lists of schemas) to walk into.
_SUB_ONE = ("items", "additionalProperties", "additionalItems")
_SUB_MAP = ("properties", "$defs", "definitions")
_SUB_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")


def find_keyword(schema: Any, keywords: Collection[str], path: str = "#") -> str | None:
    """The first of ``keywords`` used in ``schema``, as "'keyword' at POINTER", a ``$ref`` to
    another document likewise, or None."""
    if not isinstance(schema, dict):
        return None
    for key in schema:
        if key in keywords:
            return f"'{key}' at {path}"
    ref = schema.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        return f"'$ref' to another document ({ref}) at {path}"
    children: list[tuple[str, Any]] = [(f"{path}/{k}", schema.get(k)) for k in _SUB_ONE]
    for key in _SUB_MAP:
        value = schema.get(key)
        if isinstance(value, dict):
            children += [(f"{path}/{key}/{name}", sub) for name, sub in value.items()]
    for key in _SUB_LIST:
        value = schema.get(key)
        if isinstance(value, list):
            children += [(f"{path}/{key}/{i}", sub) for i, sub in enumerate(value)]
    for child_path, sub in children:
        found = find_keyword(sub, keywords, child_path)
        if found:
            return found
    return None
