"""Liveness and readiness."""

from __future__ import annotations

from fastapi import Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from pixelpress.api.deps import ServicesDep
from pixelpress.api.errors import error_response
from pixelpress.api.metrics_access import require_metrics_token
from pixelpress.api.routing import api_router
from pixelpress.api.schemas import ErrorOut
from pixelpress.domain.errors import Unavailable

router = api_router(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorOut, "description": "Not ready."}})
async def readyz(services: ServicesDep) -> JSONResponse:
    checks = {
        "database": services.db.ping,
        "storage": services.storage.ping,
        "queue": services.queue.ping,
        "cache": services.cache.ping,
    }
    for name, ping in checks.items():
        try:
            await ping()
        except Unavailable:
            return error_response(
                503,
                f"Not ready: the {name} does not answer.",
                "not_ready",
                {"dependency": name},
                {"Retry-After": "5"},
            )
    return JSONResponse({"status": "ready", "checks": dict.fromkeys(checks, "ok")})


@router.get("/metrics", response_class=Response, dependencies=[Depends(require_metrics_token)])
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text format: requests, latency, jobs by state, queue depth, job time, cache."""
    async with services.db.unit_of_work(readonly=True) as uow:
        services.metrics.set_jobs(await uow.jobs.count_by_status())
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
