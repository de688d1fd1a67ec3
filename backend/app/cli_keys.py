"""``playground keys create|list|revoke``: API key administration from the shell.

Works on the same database as the server (MP_DATABASE_URL, or the SQLite file in MP_DATA_DIR),
whether or not it runs; a revoked key stops working on the server's next request.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from app.core.config import get_settings
from app.core.db import Database, DatabaseUnreachable
from app.core.errors import NotFound
from app.services.auth import ApiKeyRecord, AuthService

keys_cli = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def _service() -> AuthService:
    settings = get_settings()
    try:
        db = Database(settings.metadata_database_url)
    except DatabaseUnreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return AuthService(settings, db)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _line(record: ApiKeyRecord) -> str:
    state = "revoked " + _when(record.revoked_at) if record.revoked_at else "active"
    role = "admin" if record.admin else "user"
    return (
        f"{record.id}  {record.prefix}...  {role:5}  {state:24}  "
        f"created {_when(record.created_at)}  last used {_when(record.last_used_at)}  "
        f"{record.name}"
    )


@keys_cli.command("create")
def create(
    name: Annotated[str, typer.Option(help="Label for the key, e.g. who uses it.")] = "default",
    admin: Annotated[bool, typer.Option(help="Allow the key to manage keys.")] = False,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    record, key = _service().create_key(name, admin=admin)
    typer.echo(f"id: {record.id}")
    typer.echo(f"key: {key}")
    typer.echo("Store the key now; it cannot be shown again.", err=True)


@keys_cli.command("list")
def list_keys() -> None:
    """List keys (never their secrets)."""
    records = _service().list_keys()
    if not records:
        typer.echo("No API keys. Create one with `playground keys create`.")
    for record in records:
        typer.echo(_line(record))


@keys_cli.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="Id from `playground keys list`.")]) -> None:
    """Revoke a key and the browser sessions made with it."""
    try:
        record = _service().revoke_key(key_id)
    except NotFound as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    typer.echo(_line(record))
