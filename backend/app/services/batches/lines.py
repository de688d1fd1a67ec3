"""Validation of a batch input file: JSONL, one request per line, each
``{"custom_id", "method": "POST", "url", "body"}`` with a unique ``custom_id``. Errors name
the line (1-based) so a user can fix the file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.core.errors import InvalidRequest
from app.schemas.batches import BATCH_ENDPOINTS


@dataclass(frozen=True)
class BatchLine:
    line_no: int  # 1-based line in the input file
    custom_id: str
    url: str
    body: dict[str, Any]


def _fail(line_no: int, message: str) -> InvalidRequest:
    return InvalidRequest(f"Line {line_no}: {message}", param="file", code="invalid_batch_line")


def parse_lines(data: bytes, max_lines: int) -> list[BatchLine]:
    """Every request of the file, or a 400 naming the first bad line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("The file is not UTF-8 text.", param="file") from None
    lines: list[BatchLine] = []
    seen: dict[str, int] = {}
    for line_no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _fail(line_no, f"not valid JSON ({exc.msg}).") from None
        if not isinstance(item, dict):
            raise _fail(line_no, "must be a JSON object.")
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise _fail(line_no, "'custom_id' must be a non-empty string.")
        if custom_id in seen:
            raise _fail(
                line_no,
                f"custom_id '{custom_id}' is already used on line "
                f"{seen[custom_id]}; each must be unique.",
            )
        seen[custom_id] = line_no
        if item.get("method") != "POST":
            raise _fail(line_no, "'method' must be \"POST\".")
        url = item.get("url")
        if url not in BATCH_ENDPOINTS:
            raise _fail(
                line_no,
                f"'url' {json.dumps(url)} is not supported; use one of "
                f"{', '.join(BATCH_ENDPOINTS)}.",
            )
        body = item.get("body")
        if not isinstance(body, dict):
            raise _fail(line_no, "'body' must be a JSON object.")
        if body.get("stream"):
            raise _fail(line_no, "'body.stream' is not supported in a batch.")
        lines.append(BatchLine(line_no, custom_id, url, body))
        if len(lines) > max_lines:
            raise InvalidRequest(
                f"The file has more than {max_lines} requests, the most one "
                "batch accepts (batch_max_lines).",
                param="file",
            )
    if not lines:
        raise InvalidRequest("The file holds no requests.", param="file")
    return lines
