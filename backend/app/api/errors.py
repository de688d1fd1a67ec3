"""Exception handlers: every error leaves as the JSON error envelope, never a traceback.

The envelope is the API's that was called: OpenAI's ``{"error": {message, type, param,
code}}``, or Ollama's ``{"error": "message"}`` on Ollama's routes (``/api/...`` outside
``/api/v1``), whose clients read the message from a string. Anthropic's routes render their
own (``api/anthropic/errors.py``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.ollama.common import is_ollama_path, ollama_error
from app.core.errors import AppError

log = logging.getLogger(__name__)


def _envelope(
    status: int,
    message: str,
    type_: str,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def validation_message(
    exc: RequestValidationError | ValidationError,
) -> tuple[str, str | None, str]:
    """(message, param, code) of a validation failure: its first problem, by field, and how
    many more there are (request bodies here; the MCP tools' arguments too)."""
    errors = exc.errors()
    if not errors:
        return "Invalid request.", None, "invalid_request"
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    param = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON.", None, "invalid_json"
    message = str(first.get("msg", "Invalid value")).removeprefix("Value error, ")
    text = f"{param}: {message}" if param else message
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text, param, "invalid_value"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        if is_ollama_path(request.url.path):
            return ollama_error(exc.status_code, exc.message, exc.headers)
        return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # OpenAI answers 400 for any invalid request, and so does Ollama; we do on every route.
        message, param, code = validation_message(exc)
        if is_ollama_path(request.url.path):
            return ollama_error(400, message)
        return _envelope(400, message, "invalid_request_error", param, code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        if is_ollama_path(request.url.path):
            return ollama_error(exc.status_code, str(exc.detail), headers)
        type_ = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return _envelope(exc.status_code, str(exc.detail), type_, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if is_ollama_path(request.url.path):
            return ollama_error(500, "Internal server error.")
        return _envelope(500, "Internal server error.", "server_error")
