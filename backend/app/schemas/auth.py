"""Auth protocol types (``/api/v1/auth``): status, login, API key administration."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AuthStatus(BaseModel):
    """Whether the server wants credentials, and whether this request carried valid ones."""

    enabled: bool = Field(description="True when every API route needs a key or session token.")
    authenticated: bool = Field(
        description="True when this request carried a valid key or session (always false "
        "when auth is off)."
    )
    admin: bool = Field(default=False, description="True when the credential may manage keys.")


class LoginRequest(BaseModel):
    """An API key to exchange for a browser session token."""

    api_key: str = Field(min_length=1, max_length=512, description="An API key ('mp-...').")


class LoginResponse(BaseModel):
    """A session token; send it as 'Authorization: Bearer <token>' like a key."""

    token: str = Field(description="Signed session token (JWT).")
    token_type: str = Field(default="bearer", description="Always 'bearer'.")
    expires_at: int = Field(description="Unix time the token stops working.")
    key_name: str = Field(description="Name of the key the session belongs to.")
    admin: bool = Field(description="Whether the session may manage keys.")


class ApiKeyInfo(BaseModel):
    """A stored API key, without its secret."""

    id: str = Field(description="Key id, used to revoke it.")
    name: str = Field(description="Label given at creation.")
    prefix: str = Field(description="First characters of the key, to recognise it.")
    admin: bool = Field(description="Whether the key may manage keys.")
    created_at: float = Field(description="Unix time of creation.")
    last_used_at: float | None = Field(description="Unix time of last use (to the minute).")
    revoked_at: float | None = Field(description="Unix time of revocation; null while active.")


class CreateKeyRequest(BaseModel):
    """A new key's label and rights."""

    name: str = Field(min_length=1, max_length=100, description="Label, e.g. who uses the key.")
    admin: bool = Field(default=False, description="Allow the key to manage keys.")


class CreatedKey(ApiKeyInfo):
    """A new key including its secret, which is shown only this once."""

    key: str = Field(description="The API key. Store it now: only its hash is kept.")
