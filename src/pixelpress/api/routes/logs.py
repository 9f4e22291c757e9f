"""/logs: the log service."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse

from pixelpress.api.deps import ClockDep, CurrentUser, Db, Paging
from pixelpress.api.routing import api_router
from pixelpress.api.schemas import PageOut
from pixelpress.api.schemas_ops import LogCreated, LogIn, LogOut
from pixelpress.api.strict import IsoDatetime
from pixelpress.domain.models import LogFilter, LogLevel
from pixelpress.usecases import logs

router = api_router(tags=["logs"])


@router.post("/logs", status_code=201, response_model=LogCreated)
async def create(body: LogIn, user: CurrentUser, db: Db, clock: ClockDep) -> JSONResponse:
    entry = await logs.create_log(
        user=user,
        level=body.logLevel,
        message=body.message,
        timestamp=body.timestamp,
        image_id=body.imageId,
        context=body.context,
        context_size=len(json.dumps(body.context)) if body.context else 0,
        db=db,
        clock=clock,
    )
    out = LogCreated(message="Log entry created successfully.", logId=entry.id)
    return JSONResponse(out.model_dump(), status_code=201)


@router.get("/logs/{log_id}", response_model=LogOut)
async def get_one(log_id: str, user: CurrentUser, db: Db) -> LogOut:
    return LogOut.of(await logs.get_log(log_id, user=user, db=db))


@router.get("/logs", response_model=PageOut[LogOut])
async def list_logs(
    user: CurrentUser,
    db: Db,
    page: Paging,
    level: LogLevel | None = None,
    since: Annotated[IsoDatetime | None, Query()] = None,
    until: Annotated[IsoDatetime | None, Query()] = None,
    imageId: Annotated[str | None, Query(max_length=64)] = None,
) -> PageOut[LogOut]:
    where = LogFilter(level=level, since=since, until=until, image_id=imageId)
    found = await logs.list_logs(user=user, where=where, page=page, db=db)
    return PageOut[LogOut].of(found, [LogOut.of(e) for e in found.items])
