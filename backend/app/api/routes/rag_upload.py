"""Reading the multipart upload of ``POST /api/v1/rag/documents``.

The form is parsed by hand rather than through FastAPI parameters so that an over-size request is
refused from its Content-Length before the body is read, and each file is read in blocks and
refused as soon as it passes the limit.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from app.core.config import RagSettings
from app.core.errors import InvalidRequest, PayloadTooLarge
from app.schemas.common import multipart_body
from app.services.rag.ingestion import UploadedFile, UploadOptions, read_upload

_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
_FORM_OVERHEAD = 1 << 20  # multipart boundaries and the small text fields

UPLOAD_OPENAPI = multipart_body(
    ["files", "collection"],
    {
        "files": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "PDF, .txt or .md files.",
        },
        "collection": {"type": "string", "description": "Knowledge base id or name."},
        "tags": {"type": "string", "description": "Tags: a JSON list or comma-separated names."},
        "metadata": {
            "type": "string",
            "description": "JSON object of string/number/bool values kept with each document.",
        },
        "chunk_size": {
            "type": "integer",
            "description": "Chunk size in tokens (default: the knowledge base's).",
        },
        "chunk_overlap": {
            "type": "integer",
            "description": "Overlap in tokens (default: the knowledge base's).",
        },
    },
)


def _tags(raw: str) -> list[str]:
    raw = raw.strip()
    if not raw:
        return []
    try:
        values = json.loads(raw) if raw.startswith("[") else raw.split(",")
    except json.JSONDecodeError as exc:
        raise InvalidRequest("tags is not a valid JSON list.", param="tags") from exc
    tags = [str(v).strip() for v in values if str(v).strip()]
    for tag in tags:
        if not _TAG.match(tag):
            raise InvalidRequest(
                f"Tag '{tag[:80]}' must be 1-64 letters, digits, spaces, '_', '.' or '-'.",
                param="tags",
            )
    if len(tags) > 32:
        raise InvalidRequest("At most 32 tags per upload.", param="tags")
    return list(dict.fromkeys(tags))


def _metadata(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    if len(raw) > 16_384:  # before parsing: nesting 10,000 deep fits in far fewer bytes
        raise InvalidRequest("metadata must be a JSON object under 16 KiB.", param="metadata")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidRequest("metadata is not valid JSON.", param="metadata") from exc
    except RecursionError as exc:  # deeply nested arrays/objects exhaust the parser's stack
        raise InvalidRequest("metadata is nested too deeply.", param="metadata") from exc
    if not isinstance(value, dict) or len(raw) > 16_384:
        raise InvalidRequest("metadata must be a JSON object under 16 KiB.", param="metadata")
    for key, item in value.items():
        if not isinstance(item, str | int | float | bool) or item is None:
            raise InvalidRequest(
                f"metadata['{key}'] must be a string, number or boolean.", param="metadata"
            )
    return value


def _int(raw: Any, name: str, low: int, high: int) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw))
    except ValueError as exc:
        raise InvalidRequest(f"{name} must be an integer.", param=name) from exc
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}.", param=name)
    return value


async def parse_upload(
    request: Request, settings: RagSettings
) -> tuple[str, list[UploadedFile], UploadOptions]:
    """The upload's knowledge base, files (read within limits) and options."""
    limit = settings.rag_max_file_bytes
    max_files = settings.rag_max_files_per_upload
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit * max_files + _FORM_OVERHEAD:
        raise PayloadTooLarge(
            f"The upload is {length} bytes; each file may have at most "
            f"{limit} bytes and an upload at most {max_files} files.",
            param="files",
        )
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("Send the files as multipart/form-data.", param="files")
    try:
        form = await request.form(max_files=max_files, max_fields=32)
    except PayloadTooLarge:  # the body-limit middleware stopped a body past the limit
        raise
    except Exception as exc:  # malformed multipart, or over max_files
        raise InvalidRequest(f"The multipart form could not be read: {exc}", param="files") from exc
    try:
        collection = str(form.get("collection") or "").strip()
        if not collection:
            raise InvalidRequest(
                "Name the knowledge base in the 'collection' field.", param="collection"
            )
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
        if not uploads:
            raise InvalidRequest("Attach at least one file in the 'files' field.", param="files")
        files = [await read_upload(f, limit) for f in uploads]
        options = UploadOptions(
            tags=_tags(str(form.get("tags") or "")),
            metadata=_metadata(str(form.get("metadata") or "")),
            chunk_size=_int(form.get("chunk_size"), "chunk_size", 16, 8192),
            chunk_overlap=_int(form.get("chunk_overlap"), "chunk_overlap", 0, 4096),
        )
        return collection, files, options
    finally:
        await form.close()
