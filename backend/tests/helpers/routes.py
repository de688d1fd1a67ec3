"""Every route of the app, read from the app itself (OpenAPI and hidden routes alike), so
tests written today also cover routes added later."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

_PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")

# Not API: the UI's catch-all and FastAPI's own docs.
_NOT_API = {"/{path:path}", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str  # template, e.g. /api/v1/models/{model_id:path}/load
    in_schema: bool

    @property
    def params(self) -> list[str]:
        return [m.group(1) for m in _PARAM.finditer(self.path)]

    def url(self, value: str = "x") -> str:
        """The path with every parameter set to ``value`` (inserted as is)."""
        return _PARAM.sub(lambda _: value, self.path)


def app_routes() -> list[RouteInfo]:
    """(method, path) of every API route of a freshly built app (lifespan not run)."""
    from app.api.route_index import iter_routes
    from app.core.config import Settings
    from app.main import create_app

    folder = Path(tempfile.mkdtemp(prefix="routes-"))
    app = create_app(Settings(data_dir=folder, models_dir=folder))
    found: list[RouteInfo] = []
    for route in iter_routes(app):
        if route.path in _NOT_API:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            found.append(RouteInfo(method, route.path, route.in_schema))
    return found


def openapi_operations(schema: dict) -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation in an OpenAPI document."""
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]
