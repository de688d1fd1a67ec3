"""Auth: ``/api/v1/auth`` status, login (key -> session token) and key administration."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from app.api.deps import AuthDep
from app.api.security import credential_from
from app.core.errors import AppError, Forbidden
from app.schemas.auth import (
    ApiKeyInfo,
    AuthStatus,
    CreatedKey,
    CreateKeyRequest,
    LoginRequest,
    LoginResponse,
)
from app.schemas.common import error_responses
from app.services.auth import ApiKeyRecord, Principal

router = APIRouter(prefix="/auth", tags=["auth"])


def _principal(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)


def require_admin(request: Request, auth: AuthDep) -> None:
    """Key administration over HTTP needs auth on and an admin key. With auth off every caller
    is anonymous (a web page in the user's browser too), so minting a key that would still work
    once auth is turned on is left to the CLI, which needs access to the database file."""
    if not auth.enabled:
        raise Forbidden(
            "Key administration over HTTP needs auth on (MP_AUTH_ENABLED=true); with auth off "
            "use the CLI: `playground keys create|list|revoke`.",
            code="auth_disabled",
        )
    principal = _principal(request)
    if principal is None or not principal.admin:
        raise Forbidden("Managing API keys needs an admin key (`playground keys create --admin`).")


AdminDep = Annotated[None, Depends(require_admin)]


def _info(record: ApiKeyRecord) -> ApiKeyInfo:
    data = asdict(record)
    return ApiKeyInfo(**data)


@router.get("/status", response_model=AuthStatus)
async def auth_status(request: Request, auth: AuthDep) -> AuthStatus:
    """Whether auth is on (the UI shows its login page then) and whether this request is in."""
    principal = _principal(request)
    if principal is None and auth.enabled:
        # This path is public, so the middleware did not check; look at the credential here.
        credential = credential_from(request.scope)
        if credential:
            try:
                principal = await asyncio.to_thread(auth.authenticate, credential)
            except AppError:  # an invalid credential just means "not authenticated"
                principal = None
    return AuthStatus(
        enabled=auth.enabled,
        authenticated=principal is not None,
        admin=bool(principal and principal.admin),
    )


@router.post("/login", response_model=LoginResponse, responses=error_responses(400, 401, 429))
async def login(body: LoginRequest, request: Request, auth: AuthDep) -> LoginResponse:
    """Exchange an API key for a short-lived session token for the browser. Failed attempts
    are limited per client address (429 with Retry-After past MP_LOGIN_FAILURES_PER_MINUTE)."""
    client = request.client.host if request.client else "unknown"
    limiter = request.app.state.login_failures
    limiter.check(client)
    try:
        token, expires_at, principal = await asyncio.to_thread(auth.login, body.api_key)
    except AppError:
        limiter.failed(client)
        raise
    return LoginResponse(
        token=token, expires_at=expires_at, key_name=principal.name, admin=principal.admin
    )


@router.get("/keys", response_model=list[ApiKeyInfo], responses=error_responses(401, 403))
async def list_keys(auth: AuthDep, _: AdminDep) -> list[ApiKeyInfo]:
    """All API keys, active and revoked (never their secrets)."""
    return [_info(record) for record in await asyncio.to_thread(auth.list_keys)]


@router.post(
    "/keys",
    response_model=CreatedKey,
    status_code=201,
    responses=error_responses(400, 401, 403),
)
async def create_key(body: CreateKeyRequest, auth: AuthDep, _: AdminDep) -> CreatedKey:
    """Create a key; the response is the only time its secret is shown."""
    record, key = await asyncio.to_thread(auth.create_key, body.name, admin=body.admin)
    return CreatedKey(**asdict(record), key=key)


@router.delete(
    "/keys/{key_id}", response_model=ApiKeyInfo, responses=error_responses(401, 403, 404)
)
async def revoke_key(key_id: str, auth: AuthDep, _: AdminDep) -> ApiKeyInfo:
    """Revoke a key and every session made with it."""
    return _info(await asyncio.to_thread(auth.revoke_key, key_id))
