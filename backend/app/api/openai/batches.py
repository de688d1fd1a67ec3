"""``/v1/batches``: create, retrieve, list and cancel batch jobs (run in the background)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.openai.files import BatchesDep
from app.schemas.batches import Batch, BatchCreateRequest, BatchList
from app.schemas.common import error_responses

router = APIRouter(prefix="/batches", tags=["openai"])


@router.post(
    "",
    response_model=Batch,
    responses=error_responses(400, 404),
    operation_id="openai-create_batch",
)
async def create_batch(body: BatchCreateRequest, batches: BatchesDep) -> Batch:
    """Start a batch over an uploaded file; its lines run in the background."""
    return batches.create(body)


@router.get("", response_model=BatchList, operation_id="openai-list_batches")
async def list_batches(
    batches: BatchesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: str | None = None,
) -> BatchList:
    """Batches, newest first."""
    data = batches.store.page(limit + 1, after)
    page = data[:limit]
    return BatchList(
        data=page,
        first_id=page[0].id if page else None,
        last_id=page[-1].id if page else None,
        has_more=len(data) > limit,
    )


@router.get(
    "/{batch_id}",
    response_model=Batch,
    responses=error_responses(404),
    operation_id="openai-get_batch",
)
async def get_batch(batch_id: str, batches: BatchesDep) -> Batch:
    """A batch with its live request counts."""
    return batches.store.get(batch_id)


@router.post(
    "/{batch_id}/cancel",
    response_model=Batch,
    responses=error_responses(404, 409),
    operation_id="openai-cancel_batch",
)
async def cancel_batch(batch_id: str, batches: BatchesDep) -> Batch:
    """Stop a batch; results of lines already finished are kept in its output file."""
    return batches.cancel(batch_id)
