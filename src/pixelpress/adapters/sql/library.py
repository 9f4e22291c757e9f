"""The repositories of the image library: images and their variants."""

from __future__ import annotations

from dataclasses import asdict, fields
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Insert, Row, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from pixelpress.adapters.sql.common import insert_entity
from pixelpress.adapters.sql.tables import images, jobs, variants
from pixelpress.domain.models import (
    Image,
    ImageFilter,
    ImageFormat,
    ImageOrder,
    Page,
    PageOf,
    Variant,
    VariantStatus,
)
from pixelpress.domain.spec import OutputFormat, parse_canonical

_NAME = func.lower(images.c.filename)
_IMAGE_ORDER: dict[ImageOrder, tuple[ColumnElement[Any], ...]] = {
    # The id breaks ties, so pages never overlap nor skip an image.
    ImageOrder.NEWEST: (images.c.created_at.desc(), images.c.id.desc()),
    ImageOrder.OLDEST: (images.c.created_at.asc(), images.c.id.asc()),
    ImageOrder.NAME: (_NAME.asc(), images.c.id.asc()),
    ImageOrder.NAME_DESC: (_NAME.desc(), images.c.id.desc()),
}


def _image(row: Row[Any]) -> Image:
    m = dict(row._mapping)
    m["format"] = ImageFormat(m["format"])
    return Image(**m)


def variant_of(row: Row[Any]) -> Variant:
    m = dict(row._mapping)
    m["status"] = VariantStatus(m["status"])
    m["format"] = OutputFormat(m["format"])
    m["spec"] = parse_canonical(m["spec"])
    return Variant(**m)


def _variant_row(variant: Variant) -> dict[str, Any]:
    """The variant's columns: its spec in canonical form (what its hash is of)."""
    values = {f.name: getattr(variant, f.name) for f in fields(variant)}
    values["spec"] = variant.spec.canonical()
    return values


class SqlImages:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, image: Image) -> None:
        await insert_entity(self._c, images, image)

    async def get(self, image_id: str, *, lock: bool = False) -> Image | None:
        query = select(images).where(images.c.id == image_id)
        if lock:
            # FOR SHARE on PostgreSQL; SQLite has no row locks (and needs none: a writing unit
            # of work holds the whole database from its BEGIN IMMEDIATE).
            query = query.with_for_update(read=True)
        row = (await self._c.execute(query)).first()
        return _image(row) if row else None

    async def find_by_filename(self, owner_id: str, filename: str) -> Image | None:
        query = (
            select(images)
            .where(images.c.owner_id == owner_id, images.c.filename == filename)
            .order_by(images.c.created_at.desc())
            .limit(1)
        )
        row = (await self._c.execute(query)).first()
        return _image(row) if row else None

    async def list_page(
        self, owner_id: str | None, page: Page, where: ImageFilter = ImageFilter()
    ) -> PageOf[Image]:
        conditions: list[ColumnElement[bool]] = []
        if owner_id is not None:
            conditions.append(images.c.owner_id == owner_id)
        if where.filename:
            conditions.append(images.c.filename.icontains(where.filename, autoescape=True))
        count = select(func.count()).select_from(images).where(*conditions)
        total = (await self._c.execute(count)).scalar_one()
        query = (
            select(images)
            .where(*conditions)
            .order_by(*_IMAGE_ORDER[where.order])
            .offset(page.offset)
            .limit(page.size)
        )
        rows = (await self._c.execute(query)).all()
        return PageOf(items=[_image(r) for r in rows], page=page, total=total)

    async def replace(self, image: Image) -> None:
        values = asdict(image)
        del values["id"]
        await self._c.execute(delete(jobs).where(jobs.c.image_id == image.id))
        await self._c.execute(delete(variants).where(variants.c.image_id == image.id))
        await self._c.execute(update(images).where(images.c.id == image.id).values(**values))

    async def ids_of_owner(self, owner_id: str) -> list[str]:
        query = select(images.c.id).where(images.c.owner_id == owner_id)
        return list((await self._c.execute(query)).scalars())

    async def totals(self) -> tuple[int, int]:
        """(number of images, bytes of originals stored)."""
        query = select(func.count(), func.coalesce(func.sum(images.c.size), 0))
        count, size = (await self._c.execute(query.select_from(images))).one()
        variant_bytes = select(func.coalesce(func.sum(variants.c.size), 0))
        extra = (await self._c.execute(variant_bytes.select_from(variants))).scalar_one()
        return int(count), int(size) + int(extra)

    async def delete(self, image_id: str) -> None:
        # Explicit children first: foreign-key cascades are a backstop, not the plan.
        await self._c.execute(delete(jobs).where(jobs.c.image_id == image_id))
        await self._c.execute(delete(variants).where(variants.c.image_id == image_id))
        await self._c.execute(delete(images).where(images.c.id == image_id))


# What a rendering decides about a variant; its id, key and spec stay those of the first row.
_OUTCOME = ("status", "width", "height", "size", "flattened")


@lru_cache(maxsize=2)
def _variant_upsert(dialect: str) -> Insert:
    upsert = postgresql.insert(variants) if dialect == "postgresql" else sqlite.insert(variants)
    return upsert.on_conflict_do_update(
        index_elements=[variants.c.image_id, variants.c.spec_hash],
        set_={k: upsert.excluded[k] for k in _OUTCOME},
    )


class SqlVariants:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, variant: Variant) -> None:
        await insert_entity(self._c, variants, variant, _variant_row(variant))

    async def get(self, variant_id: str) -> Variant | None:
        row = (await self._c.execute(select(variants).where(variants.c.id == variant_id))).first()
        return variant_of(row) if row else None

    async def find(self, image_id: str, spec_hash: str) -> Variant | None:
        query = select(variants).where(
            variants.c.image_id == image_id, variants.c.spec_hash == spec_hash
        )
        row = (await self._c.execute(query)).first()
        return variant_of(row) if row else None

    async def find_many(self, image_id: str, spec_hashes: list[str]) -> dict[str, Variant]:
        query = select(variants).where(
            variants.c.image_id == image_id, variants.c.spec_hash.in_(spec_hashes)
        )
        return {row.spec_hash: variant_of(row) for row in (await self._c.execute(query)).all()}

    async def save(self, variant: Variant) -> None:
        # One statement, built once per dialect: the hot path of every on-the-fly render.
        await self._c.execute(_variant_upsert(self._c.dialect.name), _variant_row(variant))

    async def list_for_images(self, image_ids: list[str]) -> dict[str, list[Variant]]:
        query = (
            select(variants)
            .where(variants.c.image_id.in_(image_ids))
            .order_by(variants.c.created_at, variants.c.id)
        )
        found: dict[str, list[Variant]] = {image_id: [] for image_id in image_ids}
        for row in (await self._c.execute(query)).all():
            found[row.image_id].append(variant_of(row))
        return found

    async def update(self, variant: Variant) -> None:
        values = _variant_row(variant)
        del values["id"]
        await self._c.execute(update(variants).where(variants.c.id == variant.id).values(**values))
