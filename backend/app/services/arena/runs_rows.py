"""Prompt sets: parsing JSONL/CSV/row objects into checked rows (a 400 names the first bad row),
and the automatic checks run on each answer."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from jsonschema import Draft202012Validator, SchemaError
from pydantic import ValidationError

from app.core.errors import AppError, InvalidRequest
from app.schemas.prompt_runs import CheckResult, PromptRow
from app.services.tools.schema_check import constraint_for, output_error

_FIELDS = set(PromptRow.model_fields)


def _fail(where: str, message: str, param: str) -> InvalidRequest:
    return InvalidRequest(f"{where}: {message}", param=param, code="invalid_prompt_row")


def check_row(item: Any, where: str, param: str) -> PromptRow:
    """One row object, validated, or a 400 starting with ``where`` (e.g. 'Row 3')."""
    if not isinstance(item, dict):
        raise _fail(where, "must be an object with at least 'prompt'.", param)
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise _fail(
            where,
            f"unknown field(s) {', '.join(unknown)}; use {', '.join(sorted(_FIELDS))}.",
            param,
        )
    if isinstance(item.get("contains"), str):
        item = {**item, "contains": [item["contains"]]}
    try:
        row = PromptRow.model_validate(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        raise _fail(where, f"{loc}: {first.get('msg')}" if loc else first["msg"], param) from None
    if row.regex is not None:
        try:
            re.compile(row.regex)
        except re.error as exc:
            raise _fail(where, f"regex does not compile ({exc}).", param) from None
    if row.json_schema is not None:
        try:
            Draft202012Validator.check_schema(row.json_schema)
            constraint_for(row.json_schema, "json_schema")
        except SchemaError as exc:
            raise _fail(
                where, f"json_schema is not a valid schema ({exc.message}).", param
            ) from None
        except AppError as exc:
            raise _fail(where, exc.message, param) from None
    return row


def rows_from_items(items: list[Any]) -> list[PromptRow]:
    rows = [check_row(item, f"Row {n}", "rows") for n, item in enumerate(items, start=1)]
    if not rows:
        raise InvalidRequest("The prompt set holds no rows.", param="rows")
    return rows


def parse_prompt_set(
    data: bytes | str, fmt: str | None, max_rows: int, param: str = "file"
) -> list[PromptRow]:
    """Rows of a JSONL or CSV prompt set (``fmt`` None: CSV unless it starts with '{')."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidRequest("The prompt set is not UTF-8 text.", param=param) from None
    text = data.lstrip("\ufeff")
    if fmt is None:
        fmt = "jsonl" if text.lstrip().startswith("{") else "csv"
    rows = _jsonl(text, param) if fmt == "jsonl" else _csv(text, param)
    if not rows:
        raise InvalidRequest("The prompt set holds no rows.", param=param)
    if len(rows) > max_rows:
        raise InvalidRequest(
            f"The prompt set has {len(rows)} rows, more than the {max_rows} one run accepts "
            "(prompt_run_max_rows).",
            param=param,
        )
    return rows


def _jsonl(text: str, param: str) -> list[PromptRow]:
    rows: list[PromptRow] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"Row {len(rows) + 1} (line {line_no})"
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _fail(where, f"not valid JSON ({exc.msg}).", param) from None
        rows.append(check_row(item, where, param))
    return rows


def _csv(text: str, param: str) -> list[PromptRow]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if "prompt" not in header:
        raise InvalidRequest(
            "The CSV header must name a 'prompt' column (and any of "
            f"{', '.join(sorted(_FIELDS - {'prompt'}))}).",
            param=param,
            code="invalid_prompt_row",
        )
    rows: list[PromptRow] = []
    for record in reader:
        where = f"Row {len(rows) + 1} (line {reader.line_num})"
        if None in record:
            raise _fail(where, "has more cells than the header has columns.", param)
        item: dict[str, Any] = {k: v for k, v in record.items() if v not in (None, "")}
        if "json_schema" in item:
            try:
                item["json_schema"] = json.loads(item["json_schema"])
            except json.JSONDecodeError as exc:
                raise _fail(where, f"json_schema is not valid JSON ({exc.msg}).", param) from None
        rows.append(check_row(item, where, param))
    return rows


def run_checks(row: PromptRow, text: str) -> list[CheckResult]:
    """Every check the row gives, on one answer."""
    results: list[CheckResult] = []
    if row.expected is not None:
        ok = text.strip() == row.expected.strip()
        results.append(
            CheckResult(name="exact", passed=ok, detail=None if ok else "differs from expected")
        )
    if row.contains:
        missing = [s for s in row.contains if s not in text]
        results.append(
            CheckResult(
                name="contains",
                passed=not missing,
                detail=f"missing {json.dumps(missing)}" if missing else None,
            )
        )
    if row.regex is not None:
        ok = re.search(row.regex, text) is not None
        results.append(CheckResult(name="regex", passed=ok, detail=None if ok else "no match"))
    if row.json_schema is not None:
        error = output_error(text, row.json_schema)
        results.append(CheckResult(name="json_schema", passed=error is None, detail=error))
    return results
