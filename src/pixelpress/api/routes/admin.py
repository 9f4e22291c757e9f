"""/admin: users, every image, the numbers. Users get 403 on all of it."""

from __future__ import annotations

from fastapi import Response

from pixelpress.api.deps import CacheDep, ClockDep, CurrentUser, Db, ImageListing, Paging, Storage
from pixelpress.api.routing import api_router
from pixelpress.api.schemas import ImageOut, PageOut
from pixelpress.api.schemas_ops import (
    AdminUserOut,
    AdminUserPatch,
    StatsOut,
)
from pixelpress.usecases import admin

router = api_router(prefix="/admin", tags=["admin"])


@router.get("/users", response_model=PageOut[AdminUserOut])
async def list_users(user: CurrentUser, db: Db, page: Paging) -> PageOut[AdminUserOut]:
    found = await admin.list_users(admin=user, page=page, db=db)
    return PageOut[AdminUserOut].of(found, [AdminUserOut.of(u) for u in found.items])


@router.patch("/users/{user_id}", response_model=AdminUserOut)
async def update_user(
    user_id: str, body: AdminUserPatch, user: CurrentUser, db: Db, clock: ClockDep
) -> AdminUserOut:
    changed = await admin.update_user(
        user_id, admin=user, role=body.role, disabled=body.disabled, db=db, clock=clock
    )
    return AdminUserOut.of(changed)


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(
    user_id: str, user: CurrentUser, db: Db, storage: Storage, cache: CacheDep, clock: ClockDep
) -> Response:
    await admin.delete_user(user_id, admin=user, db=db, storage=storage, cache=cache, clock=clock)
    return Response(status_code=204)


@router.get("/images", response_model=PageOut[ImageOut])
async def list_images(
    user: CurrentUser, db: Db, page: Paging, where: ImageListing
) -> PageOut[ImageOut]:
    found = await admin.list_all_images(admin=user, page=page, db=db, where=where)
    return PageOut[ImageOut].of(found, [ImageOut.of(v) for v in found.items])


@router.get("/stats", response_model=StatsOut)
async def stats(user: CurrentUser, db: Db) -> StatsOut:
    found = await admin.stats(admin=user, db=db)
    return StatsOut(
        users=found.users,
        images=found.images,
        bytesStored=found.bytes_stored,
        jobs=StatsOut.jobs_of(found.jobs),
    )
