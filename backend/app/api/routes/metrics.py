"""Prometheus exposition: ``GET /metrics`` (outside /api/v1, where scrapers look for it)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.services import metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """Counters, gauges and histograms in the Prometheus text format."""
    manager = getattr(request.app.state, "model_manager", None)
    if manager is not None:
        metrics.refresh_model_gauges(
            [(m.model_id, m.backend_name, m.backend.memory_bytes) for m in manager.loaded()]
        )
        metrics.refresh_backend_gauges(
            [
                (m.model_id, m.backend_name, m.backend.queue_depth, m.backend.stats.active_requests)
                for m in manager.loaded()
            ]
        )
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
