"""Typed application errors and their one rendering: the OpenAI error envelope.

Every error a client can see is an :class:`AppError` subclass carrying its HTTP status, an
OpenAI-style ``type`` and an optional ``param``/``code``. One exception handler renders them all as
``{"error": {"message", "type", "param", "code"}}`` on every route (native and ``/v1``), and
streams send the same object as their last event. Nothing else reaches a client: unexpected
exceptions become a generic 500 with no traceback.
"""

from __future__ import annotations

from typing import Any, ClassVar

from app.core.redact import redact


class AppError(Exception):
    """Base of all errors shown to API clients."""

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    default_code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.default_code
        self.headers = headers or {}

    def to_body(self) -> dict[str, Any]:
        """The OpenAI error envelope for this error."""
        return {
            "error": {
                "message": redact(self.message),
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(AppError):
    """The request is well-formed JSON but asks for something impossible (400)."""

    status_code = 400
    error_type = "invalid_request_error"


class ContextLengthExceeded(InvalidRequest):
    """Prompt (plus requested completion) does not fit in the model's context window (400)."""

    default_code = "context_length_exceeded"


class Unauthorized(AppError):
    """No API key or session token, or one that is wrong, expired or revoked (401)."""

    status_code = 401
    error_type = "invalid_request_error"
    default_code = "invalid_api_key"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    """The key is valid but may not do this, e.g. manage keys without admin rights (403)."""

    status_code = 403
    error_type = "permission_error"
    default_code = "forbidden"


class NotFound(AppError):
    """A named resource does not exist (404)."""

    status_code = 404
    error_type = "not_found_error"


class ModelNotFound(NotFound):
    """The requested model is neither local, cached nor loaded (404)."""

    default_code = "model_not_found"

    def __init__(self, model: str, *, param: str = "model") -> None:
        super().__init__(
            f"The model '{model}' does not exist. List available models with GET /v1/models "
            "or download one through the model manager.",
            param=param,
        )


class Conflict(AppError):
    """The resource is in a state that does not allow the operation (409)."""

    status_code = 409
    error_type = "conflict_error"


class PayloadTooLarge(AppError):
    """An upload or body is over a configured size limit (413)."""

    status_code = 413
    error_type = "invalid_request_error"
    default_code = "payload_too_large"


class UnsupportedDocument(AppError):
    """An uploaded file's content is not an accepted document type or cannot be read (415)."""

    status_code = 415
    error_type = "invalid_request_error"
    default_code = "unsupported_document"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, param="files", code=code)


class Overloaded(AppError):
    """Too many requests queued or in flight; retry later (429)."""

    status_code = 429
    error_type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class BackendUnavailable(AppError):
    """A backend is not installed or cannot run here; the message names the missing extra (503)."""

    status_code = 503
    error_type = "backend_unavailable"
    default_code = "backend_unavailable"


class DatabaseUnavailable(AppError):
    """The metadata database cannot be reached (PostgreSQL down, connections lost); retry
    after ``Retry-After`` seconds (503). Work that needs no database keeps running."""

    status_code = 503
    error_type = "service_unavailable"
    default_code = "database_unavailable"

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class LoadTimeout(AppError):
    """A model did not finish loading within ``MP_MODEL_LOAD_TIMEOUT_S`` (504)."""

    status_code = 504
    error_type = "timeout_error"
    default_code = "model_load_timeout"


class GenerationFailed(AppError):
    """The engine failed while loading or generating (500), with a message safe to show."""

    status_code = 500
    error_type = "server_error"
    default_code = "generation_failed"


class InsufficientStorage(AppError):
    """Not enough free disk (or memory budget) for what was asked (507)."""

    status_code = 507
    error_type = "insufficient_storage"
    default_code = "insufficient_storage"


class UpstreamUnavailable(AppError):
    """A remote service this request needs (the model hub, a download URL) cannot be reached
    or answered with an error (502)."""

    status_code = 502
    error_type = "upstream_error"
    default_code = "upstream_unavailable"


class PermissionDenied(AppError):
    """The remote side refused access, e.g. a gated Hub repo without a token (403)."""

    status_code = 403
    error_type = "permission_error"
    default_code = "permission_denied"


class ClientDisconnected(Exception):
    """Raised inside serving code when the client went away; never rendered."""
