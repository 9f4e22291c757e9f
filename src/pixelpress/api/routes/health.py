"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import Depends
from fastapi.responses import JSONResponse, Response

from pixelpress.api.deps import CacheDep, Db, Jobs, MetricsDep, Notices, Storage
from pixelpress.api.errors import error_response
from pixelpress.api.metrics_access import require_metrics_token
from pixelpress.api.routing import api_router
from pixelpress.api.schemas import ErrorOut
from pixelpress.domain.errors import Unavailable

router = api_router(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


CRITICAL = ("database", "storage")
"""Without these nothing can be served: readiness fails. The queues and the cache only degrade
the service (see the README's Security section), so a process keeps its traffic without them."""
PING_SECONDS = 5


async def _answers(ping: Callable[[], Awaitable[None]]) -> bool:
    try:
        await asyncio.wait_for(ping(), PING_SECONDS)
    except (Unavailable, TimeoutError):
        return False
    return True


@router.get(
    "/readyz",
    responses={503: {"model": ErrorOut, "description": "Not ready: the database or storage."}},
)
async def readyz(
    db: Db, storage: Storage, jobs: Jobs, notices: Notices, cache: CacheDep, metrics: MetricsDep
) -> JSONResponse:
    """`ready`; `degraded` (200) while a queue or the cache is down, naming it; 503 while the
    database or storage is."""

    async def queues() -> None:
        await jobs.ping()
        await notices.ping()

    pings: dict[str, Callable[[], Awaitable[None]]] = {
        "database": db.ping,
        "storage": storage.ping,
        "queue": queues,
        "cache": cache.ping,
    }
    answers = await asyncio.gather(*(_answers(ping) for ping in pings.values()))
    checks = {name: "ok" if up else "down" for name, up in zip(pings, answers, strict=True)}
    for name, up in zip(pings, answers, strict=True):
        metrics.dependency_checked(name, up=up)
    down = [name for name, state in checks.items() if state == "down"]
    critical = [name for name in down if name in CRITICAL]
    if critical:
        return error_response(
            503,
            f"Not ready: the {critical[0]} does not answer.",
            "not_ready",
            {"dependency": critical[0], "checks": checks},
            {"Retry-After": "5"},
        )
    return JSONResponse({"status": "degraded" if down else "ready", "checks": checks})


@router.get("/metrics", response_class=Response, dependencies=[Depends(require_metrics_token)])
async def metrics(db: Db, metrics: MetricsDep) -> Response:
    """Prometheus text format: requests, latency, jobs by state, queue depth, job time, cache."""
    async with db.unit_of_work(readonly=True) as uow:
        metrics.jobs_counted(await uow.jobs.count_by_status())
    body, media_type = metrics.render()
    return Response(body, media_type=media_type)
