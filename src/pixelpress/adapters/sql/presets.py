"""The repository of named presets, and of the links from each to the variants made through it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Delete, Row, delete, literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pixelpress.adapters.sql.common import insert_entity
from pixelpress.adapters.sql.library import variant_of
from pixelpress.adapters.sql.tables import GLOBAL_SCOPE, jobs, preset_variants, presets, variants
from pixelpress.domain.models import Variant
from pixelpress.domain.presets import Preset


def _scope(owner_id: str | None) -> str:
    return GLOBAL_SCOPE if owner_id is None else owner_id


def _preset(row: Row[Any]) -> Preset:
    m = dict(row._mapping)
    del m["scope"]
    return Preset(**m)


def _row(preset: Preset) -> dict[str, Any]:
    return {**preset.__dict__, "scope": _scope(preset.owner_id)}


def linked_to(preset_id: str) -> Delete:
    return delete(preset_variants).where(preset_variants.c.preset_id == preset_id)


_LINK_COLUMNS = ["preset_id", "image_id", "spec_hash"]


def _link(dialect: str) -> postgresql.Insert | sqlite.Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(preset_variants)


class SqlPresets:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, preset: Preset) -> None:
        await insert_entity(self._c, presets, preset, _row(preset))

    async def get(self, owner_id: str | None, name: str) -> Preset | None:
        query = select(presets).where(presets.c.scope == _scope(owner_id), presets.c.name == name)
        row = (await self._c.execute(query)).first()
        return _preset(row) if row else None

    async def list_for(self, owner_id: str) -> list[Preset]:
        query = (
            select(presets)
            .where(presets.c.scope.in_([owner_id, GLOBAL_SCOPE]))
            .order_by(presets.c.name, presets.c.owner_id.is_(None))
        )
        return [_preset(row) for row in (await self._c.execute(query)).all()]

    async def update(self, preset: Preset) -> None:
        values = _row(preset)
        del values["id"]
        await self._c.execute(update(presets).where(presets.c.id == preset.id).values(**values))

    async def delete(self, preset_id: str) -> None:
        await self._c.execute(linked_to(preset_id))
        await self._c.execute(delete(presets).where(presets.c.id == preset_id))

    async def link(self, preset_ids: Sequence[str], image_id: str, spec_hash: str) -> None:
        if not preset_ids:
            return
        # Only presets that still exist: one deleted while this variant was made has nothing
        # left to purge it with, and must not fail the work that made it.
        existing = select(presets.c.id, literal(image_id), literal(spec_hash)).where(
            presets.c.id.in_(list(preset_ids))
        )
        statement = _link(self._c.dialect.name).from_select(_LINK_COLUMNS, existing)
        try:
            async with self._c.begin_nested():
                await self._c.execute(statement.on_conflict_do_nothing())
        except IntegrityError:
            pass  # deleted between that read and this write

    async def purge_variants(self, preset_id: str) -> list[Variant]:
        linked = select(preset_variants.c.image_id, preset_variants.c.spec_hash).where(
            preset_variants.c.preset_id == preset_id
        )
        query = select(variants).where(
            tuple_(variants.c.image_id, variants.c.spec_hash).in_(linked)
        )
        found = [variant_of(row) for row in (await self._c.execute(query)).all()]
        ids = [v.id for v in found]
        if ids:
            # Explicit children first: foreign-key cascades are a backstop, not the plan.
            await self._c.execute(delete(jobs).where(jobs.c.variant_id.in_(ids)))
            await self._c.execute(linked_to(preset_id))
            # (Other presets' links to these variants go with them: see the table.)
            await self._c.execute(delete(variants).where(variants.c.id.in_(ids)))
        return found
