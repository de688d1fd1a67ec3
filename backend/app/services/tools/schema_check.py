"""Checks a JSON schema before any engine sees it and turns it into a :class:`Constraint`.

Grammar engines silently skip keywords they cannot express (xgrammar ignores ``not`` and
``if``; GBNF conversion ignores others), which would hand the client an answer that does not
follow its schema. We refuse those keywords up front instead, naming them, so a constrained
request is either honoured exactly or answered 400.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from app.backends.base import Constraint
from app.backends.json_schema import find_keyword, unresolved_ref
from app.core.errors import InvalidRequest

# Keywords that change which documents are valid but that no engine here compiles.
UNSUPPORTED = frozenset(
    {
        "not",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "dependentRequired",
        "dependencies",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contains",
        "minContains",
        "maxContains",
        "uniqueItems",
        "propertyNames",
        "patternProperties",
        "multipleOf",
    }
)


def unsupported_keyword(schema: Any) -> str | None:
    """The first keyword (with its JSON pointer) that no grammar engine enforces, or None."""
    return find_keyword(schema, UNSUPPORTED)


def check_schema(schema: Any, param: str, what: str = "The JSON schema") -> None:
    """400 (``param``) unless ``schema`` is a valid JSON schema every engine can enforce."""
    if not isinstance(schema, dict):
        raise InvalidRequest(f"{what} must be a JSON object.", param=param)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidRequest(
            f"{what} is not a valid JSON schema: {exc.message}", param=param
        ) from exc
    except RecursionError as exc:  # jsonschema walks the schema recursively (~200 levels)
        raise InvalidRequest(f"{what} is nested too deeply.", param=param) from exc
    # Checked here, not left to the engines: their converters fail on it in their own ways
    # (xgrammar raises, llama-cpp-python's GBNF converter asserts).
    broken = unresolved_ref(schema)
    if broken:
        raise InvalidRequest(
            f"{what} has {broken}, which points at nothing in the schema (local references "
            "must resolve inside it, e.g. '#/$defs/Name' with 'Name' in the root's '$defs').",
            param=param,
        )
    found = unsupported_keyword(schema)
    if found:
        raise InvalidRequest(
            f"{what} uses {found}, which constrained decoding cannot enforce; remove it "
            "(or check it in your code after the response).",
            param=param,
        )


def constraint_for(schema: dict[str, Any], param: str) -> Constraint:
    """A checked :class:`Constraint` for a JSON schema given in field ``param``."""
    check_schema(schema, param)
    return Constraint(json.dumps(schema, sort_keys=False), param=param)


def output_error(text: str, schema: dict[str, Any]) -> str | None:
    """Why ``text`` is not a JSON document following ``schema`` (None when it is)."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        return f"not JSON: {exc}"
    error = best_match(Draft202012Validator(schema).iter_errors(document))
    return None if error is None else error.message
