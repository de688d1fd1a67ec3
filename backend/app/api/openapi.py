"""Makes the OpenAPI document say what the server really answers, on every operation.

Route modules document their own errors; what middleware and the shared handlers add to every
route is documented here once: validation errors are 400 (not FastAPI's default 422), any
protected route may answer 401 (auth on) or 429 (limits), bodies may be refused with 413, a
path parameter may name nothing (404), and a request with a ``stream`` field may be answered
with server-sent events.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.api.security import PUBLIC_PATHS
from app.schemas.common import ErrorResponse

_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
# Ollama-compatible routes answer their own errors as Ollama does ({"error": "text"}); the
# middleware's 401/413/429 and request validation still use the envelope.
_OLLAMA_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string", "description": "What went wrong."}},
    "required": ["error"],
}
_OLLAMA_TAG = "ollama"
_DESCRIPTIONS = {
    "400": "Invalid request (the error envelope names the field).",
    "401": "Missing or wrong API key / session token (when auth is on).",
    "404": "A resource named in the path does not exist.",
    "413": "The request body is over the size limit.",
    "429": "Over a rate limit or queue cap; retry after the Retry-After header's seconds.",
}


def _error_response(status: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS.get(status, "Error."),
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
    if status == "429":
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        }
    return response


def _body_fields(operation: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    model = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    return set(model.get("properties", {}))


def _allow_ollama_errors(responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        if not status.startswith(("4", "5")):
            continue
        content = response.setdefault("content", {}).setdefault("application/json", {})
        current = content.get("schema", _ERROR_REF)
        if "anyOf" not in current:
            content["schema"] = {"anyOf": [current, _OLLAMA_ERROR]}


def _complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorResponse" not in components:
        generated = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(generated.pop("$defs", {}))
        components["ErrorResponse"] = generated
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            had_validation = responses.pop("422", None) is not None
            wanted = []
            if had_validation or operation.get("parameters") or operation.get("requestBody"):
                wanted.append("400")
            if path not in PUBLIC_PATHS:
                wanted += ["401", "429"]
            if method in {"post", "put", "patch"}:
                wanted.append("413")
            fields = _body_fields(operation, schema)
            if any(p.get("in") == "path" for p in operation.get("parameters", [])) or (
                "model" in fields
            ):
                wanted.append("404")  # a resource or model named in the request is unknown
            for status in wanted:
                responses.setdefault(status, _error_response(status))
            ollama = _OLLAMA_TAG in operation.get("tags", [])
            if ollama:
                _allow_ollama_errors(responses)
            ok = responses.get("200")
            if ok is not None and "stream" in fields:
                media, text = (
                    ("application/x-ndjson", "One JSON object per line.")
                    if ollama
                    else ("text/event-stream", "Server-sent events.")
                )
                ok.setdefault("content", {}).setdefault(
                    media, {"schema": {"type": "string", "description": text}}
                )
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the served document includes the shared responses."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
