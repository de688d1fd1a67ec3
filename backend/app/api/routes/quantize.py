"""Quantization jobs: ``POST /api/v1/models/{id}/quantize`` and ``/api/v1/quantizations``."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import QuantizeDep
from app.api.sse import job_events, job_events_doc
from app.schemas.common import error_responses
from app.schemas.quantize import QuantizationInfo, QuantizationList, QuantizeRequest

router = APIRouter(tags=["quantizations"])


@router.post(
    "/models/{model_id:path}/quantize",
    response_model=QuantizationInfo,
    status_code=202,
    responses=error_responses(400, 404, 409, 507),
)
async def start_quantization(
    model_id: str, body: QuantizeRequest, quantize: QuantizeDep
) -> QuantizationInfo:
    """Make `{stem}-{type}.gguf` models from a local GGUF file or HF folder (converted to an
    f16 GGUF first), one job for all the types. Types, source, name clashes and free disk are
    checked before the job is accepted."""
    return await quantize.create(model_id, body.types)


@router.get("/quantizations", response_model=QuantizationList)
async def list_quantizations(quantize: QuantizeDep) -> QuantizationList:
    """Every quantization job, oldest first."""
    return QuantizationList(data=quantize.list_jobs())


@router.get(
    "/quantizations/{job_id}", response_model=QuantizationInfo, responses=error_responses(404)
)
async def get_quantization(job_id: str, quantize: QuantizeDep) -> QuantizationInfo:
    """One job with its stage, outputs and the bytes written so far."""
    return quantize.info(quantize.get(job_id))


@router.post(
    "/quantizations/{job_id}/cancel",
    response_model=QuantizationInfo,
    responses=error_responses(404, 409),
)
async def cancel_quantization(job_id: str, quantize: QuantizeDep) -> QuantizationInfo:
    """Stop a queued or running job; its partial file is removed (finished outputs stay)."""
    return await quantize.cancel(job_id)


@router.delete("/quantizations/{job_id}", status_code=204, responses=error_responses(404))
async def delete_quantization(job_id: str, quantize: QuantizeDep) -> None:
    """Forget a job (stopping it first); the models it finished stay."""
    await quantize.delete(job_id)


@router.get("/quantizations/{job_id}/events", responses=job_events_doc("QuantizationInfo"))
async def quantization_events(job_id: str, quantize: QuantizeDep):
    """Live progress of one job as server-sent events."""
    return job_events(quantize, job_id)
