"""On-the-fly delivery: each (image, canonical spec) renders once, is kept in object storage
and found again through the cache, without touching the database on a hit.

`deliver` is one straight line: a record in the cache (the answer, with no database); else the
image's facts (its card in the cache, or the database); else the stored object; else a render,
under a lock so that concurrent requests (in any process) render it once. `serve` adds what an
answer needs: the stored bytes, read once more when a record outlived its object."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from pixelpress.domain.errors import NotFound, Unavailable
from pixelpress.domain.ids import new_id
from pixelpress.domain.keys import render_lock_key, variant_key
from pixelpress.domain.models import MEDIA_TYPES, Image, ImageLimits, User, Variant, VariantStatus
from pixelpress.domain.spec import TransformSpec, parse_query, plan
from pixelpress.ports import Cache, Clock, Database, ImageProcessor, ObjectStorage, StoredObject
from pixelpress.usecases.access import IMAGE_NOT_FOUND, may_see
from pixelpress.usecases.admission import Budget, RenderGate
from pixelpress.usecases.faces import FaceFinder, focus_for
from pixelpress.usecases.records import Card, Delivered, RecordCache
from pixelpress.usecases.renditions import is_level, level_hashes, rendition_hash, source_for
from pixelpress.usecases.transforms import watermark_bytes


@dataclass(frozen=True)
class Deliverer:
    db: Database
    storage: ObjectStorage
    cache: Cache
    """For render locks (records and cards go through `records`)."""
    records: RecordCache
    processor: ImageProcessor
    clock: Clock
    limits: ImageLimits
    gate: RenderGate
    """On-the-fly renders admitted at once in this process."""
    lock_seconds: int = 60
    wait_seconds: float = 60
    faces: FaceFinder | None = None
    """For cover crops with face gravity (without it, those are cut as `auto`)."""
    presets: tuple[str, ...] = ()
    """The presets the request named (set per request): what it renders is linked to them."""


@dataclass(frozen=True)
class Facts:
    """What a render of `spec` needs to know of the image: the row and the variants at hand
    (from the database: the spec's own row and the renditions; from a card: the renditions)."""

    image: Image
    spec: TransformSpec
    variants: dict[str, Variant]
    from_card: bool


@dataclass(frozen=True)
class Served:
    delivered: Delivered
    body: StoredObject | None
    """The stored object to answer with; None when `delivered.data` holds the bytes, or when
    the caller already has them (`not_modified`)."""
    not_modified: bool = False


async def serve(
    image_id: str,
    spec: TransformSpec | None,
    *,
    d: Deliverer,
    viewer: User | None = None,
    budget: Budget | None = None,
    if_none_match: frozenset[str] = frozenset(),
) -> Served:
    """`deliver`, and the bytes to answer with (none when the caller's ETag matches)."""
    found = await deliver(image_id, spec, d=d, viewer=viewer, budget=budget)
    if found.etag in if_none_match:
        return Served(found, None, not_modified=True)
    if found.data is not None:
        return Served(found, None)
    try:
        return Served(found, await d.storage.read(found.key))
    except NotFound:
        # The record outlived its stored object (purged meanwhile, or lost): once more.
        await d.records.forget(image_id, found.spec_hash)
        found = await deliver(image_id, spec, d=d, viewer=viewer, budget=budget)
        body = None if found.data is not None else await d.storage.read(found.key)
        return Served(found, body)


async def deliver(
    image_id: str,
    spec: TransformSpec | None,
    *,
    d: Deliverer,
    viewer: User | None = None,
    budget: Budget | None = None,
) -> Delivered:
    """The stored rendering of `spec` (None: the original, upright and stripped), rendering it
    first if nobody has. `viewer` None means the caller holds a signed URL. `budget` is spent
    only when this call renders (a cached or stored variant costs nothing)."""
    if spec is not None and (found := await _recorded(image_id, spec.hash, d, viewer)):
        return found
    facts = await _facts(image_id, spec, d, viewer)
    if spec is None and (found := await _recorded(image_id, facts.spec.hash, d, viewer)):
        return found  # the original's spec is only known now: its record may be cached
    try:
        return await _produce(facts, d, viewer, budget)
    except NotFound:
        if not facts.from_card:
            raise
        # The card is out of date (the image was replaced or deleted since it was written):
        # forget it and ask the database.
        await d.records.forget_card(image_id)
        return await deliver(image_id, spec, d=d, viewer=viewer, budget=budget)


async def _recorded(
    image_id: str, spec_hash: str, d: Deliverer, viewer: User | None
) -> Delivered | None:
    found = await d.records.record(image_id, spec_hash)
    if found is not None and viewer is not None and not may_see(viewer, found.owner_id):
        raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
    return found


async def _facts(
    image_id: str, spec: TransformSpec | None, d: Deliverer, viewer: User | None
) -> Facts:
    """From the image's card when the cache has one, else from the database (which leaves a
    card behind, once the image's background work is done)."""
    if spec is not None and (card := await d.records.card(image_id)) is not None:
        variants = {level.spec_hash: level for level in card.levels}
        return Facts(card.image, spec, variants, from_card=True)
    async with d.db.unit_of_work(readonly=True) as uow:
        image = await uow.images.get(image_id)
        if image is None or (viewer is not None and not may_see(viewer, image.owner_id)):
            raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
        if spec is None:
            spec = parse_query({"format": image.format if image.format != "tiff" else "jpeg"})
        levels = level_hashes(image)
        variants = await uow.variants.find_many(image.id, [spec.hash, *levels])
    # Once the rendition job is done (it makes every level in one go), a card.
    top = variants.get(rendition_hash(image) or "")
    if not levels or (top is not None and top.status is VariantStatus.READY):
        ready = (variants[h] for h in levels if h in variants)
        await d.records.remember_card(Card(image, tuple(ready)))
    return Facts(image, spec, variants, from_card=False)


async def _produce(
    facts: Facts, d: Deliverer, viewer: User | None, budget: Budget | None
) -> Delivered:
    """The stored rendering, rendered here unless it is stored already or a concurrent
    rendering (in any process) makes it."""
    image, spec, variants = facts.image, facts.spec, facts.variants
    if viewer is not None and not may_see(viewer, image.owner_id):
        raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
    output = plan(
        spec, width=image.width, height=image.height, source_format=image.format, limits=d.limits
    )
    key = variant_key(image.id, spec.hash, str(output.format))
    lock = render_lock_key(image.id, spec.hash)
    deadline = asyncio.get_running_loop().time() + d.wait_seconds
    while True:
        if (found := await _stored(image, spec, variants.get(spec.hash), d)) is not None:
            return found
        if await d.cache.add(lock, b"1", ttl=d.lock_seconds):
            try:
                # Whoever held the lock before us may have finished it just now; and a card
                # holds no row of the spec's own: made by a job, or its record evicted.
                found = await _recorded(image.id, spec.hash, d, viewer)
                if found is None and facts.from_card:
                    found = await _stored(image, spec, await _row(image, spec, key, d), d)
                if found is not None:
                    return found
                levels = [variants[h] for h in level_hashes(image) if h in variants]
                if budget is not None:
                    await budget()
                async with d.gate.admitted():
                    return await _render(image, spec, key, levels, d)
            finally:
                await d.cache.release(lock)
        # Someone else is rendering it: wait for their result rather than render it twice.
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise Unavailable("The rendering is taking too long.", dependency="processor")
        await d.cache.wait_released(lock, within=remaining)
        if (found := await _recorded(image.id, spec.hash, d, viewer)) is not None:
            return found
        async with d.db.unit_of_work(readonly=True) as uow:
            variants = variants | await uow.variants.find_many(image.id, [spec.hash])


async def _row(image: Image, spec: TransformSpec, key: str, d: Deliverer) -> Variant | None:
    """The spec's own row, read only when its object exists (a missing one says "not stored"
    for the price of a stat, on local files)."""
    if not await d.storage.exists(key):
        return None
    async with d.db.unit_of_work(readonly=True) as uow:
        return await uow.variants.find(image.id, spec.hash)


def _delivered(
    image: Image, spec_hash: str, key: str, size: int, *, flattened: bool = False
) -> Delivered:
    ext = key.rsplit(".", 1)[-1]
    return Delivered(
        spec_hash=spec_hash,
        key=key,
        etag=f'"{spec_hash[:16]}{image.content_hash[:16]}"',
        media_type=MEDIA_TYPES.get(ext, "application/octet-stream"),
        size=size,
        owner_id=image.owner_id,
        flattened=flattened,
    )


async def _stored(
    image: Image, spec: TransformSpec, variant: Variant | None, d: Deliverer
) -> Delivered | None:
    if variant is None or variant.status is not VariantStatus.READY or variant.size is None:
        return None
    data = None
    try:
        if variant.size <= d.records.inline_bytes:
            data = await d.storage.get(variant.storage_key)
        elif not await d.storage.exists(variant.storage_key):
            return None
    except NotFound:
        return None
    found = _delivered(
        image, spec.hash, variant.storage_key, variant.size, flattened=variant.flattened
    )
    await d.records.remember(image.id, replace(found, data=data))
    # A delete or replace that committed after our read purged the cache before we wrote to
    # it: look once more, and take back what we wrote if the image changed meanwhile.
    async with d.db.unit_of_work(readonly=True) as uow:
        current = await uow.images.get(image.id)
    if current is None or current.content_hash != image.content_hash:
        await d.records.forget(image.id, spec.hash)
        raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
    return replace(found, data=data)


async def _render(
    image: Image, spec: TransformSpec, key: str, levels: list[Variant], d: Deliverer
) -> Delivered:
    source = await source_for(image, spec, levels, storage=d.storage)
    watermark = await watermark_bytes(spec, db=d.db, storage=d.storage)
    focus = await focus_for(image, spec, source, d.faces)
    rendered = await d.processor.render(source, spec, watermark=watermark, focus=focus)
    await d.storage.put(key, rendered.data, media_type=MEDIA_TYPES[rendered.format])
    variant = Variant(
        id=new_id(),
        image_id=image.id,
        spec_hash=spec.hash,
        spec=spec,
        storage_key=key,
        format=rendered.format,
        status=VariantStatus.PENDING,
        created_at=d.clock.now(),
    )
    variant.mark_ready(
        width=rendered.width,
        height=rendered.height,
        size=len(rendered.data),
        flattened=rendered.flattened,
    )
    found = _delivered(image, spec.hash, key, len(rendered.data), flattened=rendered.flattened)
    found = replace(found, data=rendered.data)
    async with d.db.unit_of_work() as uow:
        # Held until we commit: a delete or replace waits for us, then purges what we cached.
        current = await uow.images.get(image.id, lock=True)
        if current is None or current.content_hash != image.content_hash:
            # Deleted or replaced while we rendered: this rendering is of bytes that are gone.
            await d.storage.delete(key)
            raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
        await uow.variants.save(variant)
        if d.presets and not is_level(image, spec.hash):
            await uow.presets.link(d.presets, image.id, spec.hash)
        await d.records.remember(image.id, found)
        await uow.commit()
    return found
