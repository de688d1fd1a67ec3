"""Serves the built playground UI (``frontend/dist``) at ``/`` with a single-page-app fallback."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.core.errors import NotFound

_API_PREFIXES = ("/api/", "/v1/", "/docs", "/redoc", "/openapi.json", "/metrics", "/mcp/")

_NOT_BUILT = """<!doctype html><html><head><title>Mistral Playground</title></head><body>
<h1>Mistral Playground</h1><p>The API is running, but the UI has not been built.
Run <code>bash scripts/run.sh</code> (it builds it), or
<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>.
API docs: <a href="/docs">/docs</a>.</p></body></html>"""


def mount_frontend(app: FastAPI, dist: Path) -> None:
    index = dist / "index.html"
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str, request: Request):
        if request.url.path.startswith(_API_PREFIXES) or request.url.path == "/mcp":
            raise NotFound(f"No route {request.url.path}.")
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(dist.resolve()):
            return FileResponse(candidate)
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(_NOT_BUILT)
