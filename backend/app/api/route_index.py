"""A flat index of the app's routes with their full path templates.

FastAPI keeps included routers nested (``_IncludedRouter``), so middleware that runs before
routing cannot ask ``app.routes`` which template a path belongs to. This index answers that
for metrics labels and the auth middleware, and lets tests enumerate every route.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from starlette.routing import Route, compile_path
from starlette.types import Scope


@dataclass(frozen=True)
class IndexedRoute:
    """One route: its full template, methods and whether the OpenAPI document shows it."""

    path: str
    methods: frozenset[str]
    in_schema: bool
    regex: re.Pattern[str]


def iter_routes(app) -> Iterator[IndexedRoute]:
    """Every endpoint route of ``app`` (nested routers flattened), in matching order."""
    yield from _walk(app.router.routes)


def _walk(routes) -> Iterator[IndexedRoute]:
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # an included router: its routes with full paths
            for context in contexts():
                original = context.original_route
                yield _indexed(context.path, original, context.include_in_schema)
        elif isinstance(route, Route):
            yield _indexed(route.path, route, getattr(route, "include_in_schema", True))


def _indexed(path: str, route, in_schema: bool) -> IndexedRoute:
    regex, _, _ = compile_path(path)
    methods = frozenset(getattr(route, "methods", None) or ())
    return IndexedRoute(path, methods, bool(in_schema), regex)


class RouteIndex:
    """Path -> route lookups, built on first use (after all routers are included)."""

    def __init__(self, app) -> None:
        self._app = app
        self._routes: list[IndexedRoute] | None = None

    def routes(self) -> list[IndexedRoute]:
        if self._routes is None:
            self._routes = list(iter_routes(self._app))
        return self._routes

    def match(self, scope: Scope) -> IndexedRoute | None:
        """The route serving this path: one allowing the method if any, else the first."""
        path = scope["path"]
        first: IndexedRoute | None = None
        for route in self.routes():
            if route.regex.match(path):
                if scope.get("method") in route.methods:
                    return route
                first = first or route
        return first


def route_index(scope: Scope) -> RouteIndex | None:
    app = scope.get("app")
    if app is None:
        return None
    index = getattr(app.state, "route_index", None)
    if index is None:
        index = app.state.route_index = RouteIndex(app)
    return index
