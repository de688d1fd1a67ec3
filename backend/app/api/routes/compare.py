"""Side by side: ``POST /api/v1/compare`` streams several models' answers to one prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import ServerSentEvent

from app.api.deps import GenerationDep
from app.api.routes.generate import generation_response, request_messages, request_params
from app.api.sse import event, sse_response
from app.schemas.common import ErrorResponse, described_responses
from app.schemas.compare import CompareDone, CompareError, CompareRequest, CompareToken
from app.services.compare import CompareColumn, compare_stream
from app.services.tools.schema_check import output_error

router = APIRouter(prefix="/compare", tags=["compare"])


@router.post(
    "",
    responses=described_responses(
        "Server-sent events: `token` (CompareToken), `done` (CompareDone) "
        "or `error` (CompareError) per column, then `end`.",
        400,
        media=("text/event-stream",),
    ),
)
async def compare_models(body: CompareRequest, generation: GenerationDep):
    """Run one prompt with one set of parameters on 2-4 models concurrently."""
    columns = [CompareColumn(t.model, t.backend) for t in body.models]
    return sse_response(_events(generation, columns, body))


async def _events(
    generation: GenerationDep, columns: list[CompareColumn], body: CompareRequest
) -> AsyncIterator[ServerSentEvent]:
    async for item in compare_stream(
        generation,
        columns,
        request_params(body),
        prompt=body.prompt,
        messages=request_messages(body),
    ):
        if item.kind == "token":
            yield event(CompareToken(index=item.index, text=item.text), "token")
        elif item.kind == "done" and item.outcome is not None:
            done = CompareDone(index=item.index, response=generation_response(item.outcome))
            if body.json_schema is not None:
                done.schema_error = output_error(item.outcome.text, body.json_schema)
                done.schema_valid = done.schema_error is None
            yield event(done, "done")
        elif item.error is not None:
            yield event(
                CompareError(
                    index=item.index, error=ErrorResponse.model_validate(item.error.to_body())
                ),
                "error",
            )
    yield event({}, "end")
