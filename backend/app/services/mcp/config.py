"""The MCP servers file, ``mcp.json``: read, checked, edited and written atomically.

The format is the one Claude Desktop, Cursor and LM Studio read, so a user can copy their
file over: ``{"mcpServers": {name: {"command", "args", "env"} | {"url", "headers"}}}``.
Three optional keys per server are this playground's own (other hosts ignore unknown keys):
``disabled`` (as Cline writes it), ``approval`` (``"auto"`` or ``"ask"``) and
``allowedTools`` (only these tools are offered to models).

Secrets (``env`` and ``headers`` values) never leave the server: :func:`redacted` replaces
them with :data:`REDACTED`, and an edit that sends :data:`REDACTED` back keeps the stored
value, so the settings page can round-trip a server without ever holding its secrets.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.core.errors import InvalidRequest

REDACTED = "********"
SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class McpConfigError(InvalidRequest):
    """``mcp.json`` or an edit of one server is not valid."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_mcp_config")


class McpServerConfig(BaseModel):
    """One server: a local command (stdio) or a URL (Streamable HTTP), and how the
    playground uses it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    command: str | None = Field(
        default=None, min_length=1, description="stdio: the program to start."
    )
    args: list[str] = Field(default_factory=list, description="stdio: its arguments.")
    env: dict[str, str] = Field(
        default_factory=dict, description="stdio: extra environment variables (secret)."
    )
    cwd: str | None = Field(default=None, description="stdio: working directory.")
    url: str | None = Field(
        default=None, description="Streamable HTTP: the endpoint, e.g. http://host/mcp."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP: headers sent on every request (secret)."
    )
    disabled: bool = Field(default=False, description="Not connected, its tools not offered.")
    approval: Literal["auto", "ask"] = Field(
        default="auto",
        description="auto: tool calls run at once; ask: each waits for the user's approval.",
    )
    allowed_tools: list[str] | None = Field(
        default=None,
        alias="allowedTools",
        description="Only these tools are offered to models (all when unset).",
    )

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of 'command' (stdio) or 'url' (Streamable HTTP)")
        if self.url is not None:
            check_url(self.url)
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"

    def offers(self, tool: str) -> bool:
        """Whether ``tool`` may be offered to a model (the allow-list)."""
        return self.allowed_tools is None or tool in self.allowed_tools

    def to_file(self) -> dict[str, Any]:
        """This server as ``mcp.json`` writes it (defaults left out, so the file stays the
        format other hosts read)."""
        out = self.model_dump(by_alias=True, exclude_defaults=True)
        return out


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; ValueError (a 400/422) otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the MCP server URL must be an http:// or https:// URL with a host")
    return url


def redacted(config: McpServerConfig) -> McpServerConfig:
    """A copy safe to show: every ``env`` and ``headers`` value replaced by :data:`REDACTED`."""
    return config.model_copy(
        update={
            "env": {k: REDACTED for k in config.env},
            "headers": {k: REDACTED for k in config.headers},
        }
    )


def merge_secrets(new: McpServerConfig, old: McpServerConfig | None) -> McpServerConfig:
    """``new`` with each :data:`REDACTED` value taken from ``old`` (an edit of a redacted
    view keeps the stored secrets); a redacted value with nothing stored is an error."""

    def merged(fresh: dict[str, str], stored: dict[str, str], what: str) -> dict[str, str]:
        out = {}
        for key, value in fresh.items():
            if value == REDACTED:
                if key not in stored:
                    raise McpConfigError(f"{what} '{key}' has no stored value to keep")
                value = stored[key]
            out[key] = value
        return out

    return new.model_copy(
        update={
            "env": merged(new.env, old.env if old else {}, "env"),
            "headers": merged(new.headers, old.headers if old else {}, "header"),
        }
    )


def check_name(name: str) -> str:
    if not SERVER_NAME.match(name):
        raise McpConfigError(
            f"server name '{name}' must be 1-64 letters, digits, '_', '-' or '.', starting "
            "with a letter or digit"
        )
    return name


class McpConfigFile:
    """``mcp.json`` on disk. Reads tolerate a missing file (no servers); writes go to a
    temporary file that replaces the old one, so a crash never leaves half a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> dict[str, McpServerConfig]:
        """The configured servers by name; :class:`McpConfigError` names what is wrong."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise McpConfigError(f"{self.path} is not valid JSON: {exc}") from None
        servers = raw.get("mcpServers", {}) if isinstance(raw, dict) else None
        if not isinstance(servers, dict):
            raise McpConfigError(f"{self.path}: 'mcpServers' must be an object")
        out = {}
        for name, entry in servers.items():
            try:
                out[check_name(str(name))] = McpServerConfig.model_validate(entry)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise McpConfigError(f"{self.path}: server '{name}': {first['msg']}") from None
        return out

    def save(self, servers: dict[str, McpServerConfig]) -> None:
        """Write every server (other top-level keys of the file are kept)."""
        with self._lock:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(raw, dict):
                    raw = {}
            except (OSError, ValueError):
                raw = {}
            raw["mcpServers"] = {name: cfg.to_file() for name, cfg in servers.items()}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".mcp-", suffix=".json", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(raw, handle, indent=2)
                    handle.write("\n")
                # The file may hold secrets (env, headers): readable by its owner only.
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
