"""/presets: named transformations, the caller's own and global ones (see `domain.presets`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response

from pixelpress.api.deps import CacheDep, ClockDep, Config, CurrentUser, Db, Deliverer, Storage
from pixelpress.api.routing import api_router
from pixelpress.api.schemas_presets import PresetEdit, PresetIn, PresetOut, PresetsOut
from pixelpress.api.strict import QueryBool
from pixelpress.usecases import presets
from pixelpress.usecases.presets import PresetInput, PresetStore

router = api_router(tags=["presets"])
GlobalScope = Annotated[
    QueryBool,
    Query(alias="global", description="The global preset of that name (changing it: admins)."),
]


async def preset_store(
    db: Db, cache: CacheDep, storage: Storage, deliverer: Deliverer, clock: ClockDep, config: Config
) -> PresetStore:
    return PresetStore(db, cache, storage, deliverer.records, clock, config.limits)


Store = Annotated[PresetStore, Depends(preset_store)]


def _input(body: PresetEdit) -> PresetInput:
    return PresetInput(body.options, body.transformations, body.public)


@router.post("/presets", status_code=201, response_model=PresetOut)
async def define(body: PresetIn, user: CurrentUser, store: Store) -> PresetOut:
    """A new preset of yours (or, for admins, a global one: `"global": true`)."""
    made = await presets.define_preset(
        body.name, _input(body), is_global=body.global_, user=user, s=store
    )
    return PresetOut.of(made)


@router.get("/presets", response_model=PresetsOut)
async def list_presets(user: CurrentUser, db: Db) -> PresetsOut:
    return PresetsOut(items=[PresetOut.of(p) for p in await presets.list_presets(user=user, db=db)])


@router.get("/presets/{name}", response_model=PresetOut)
async def get_preset(
    name: str, user: CurrentUser, db: Db, is_global: GlobalScope = False
) -> PresetOut:
    """Your preset of that name, else the global one."""
    return PresetOut.of(await presets.get_preset(name, is_global=is_global, user=user, db=db))


@router.put("/presets/{name}", response_model=PresetOut)
async def edit(
    name: str, body: PresetEdit, user: CurrentUser, store: Store, is_global: GlobalScope = False
) -> PresetOut:
    """New options purge the variants made through the preset (they are made anew)."""
    edited = await presets.edit_preset(name, _input(body), is_global=is_global, user=user, s=store)
    return PresetOut.of(edited)


@router.delete("/presets/{name}", status_code=204)
async def delete(
    name: str, user: CurrentUser, store: Store, is_global: GlobalScope = False
) -> Response:
    """Deletes the preset and the variants made through it."""
    await presets.delete_preset(name, is_global=is_global, user=user, s=store)
    return Response(status_code=204)
