"""On-the-fly delivery: each (image, canonical spec) renders once, is kept in object storage
and found again through the cache, without touching the database on a hit."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from pixelpress.domain.errors import NotFound, Unavailable
from pixelpress.domain.ids import new_id
from pixelpress.domain.models import (
    MEDIA_TYPES,
    Image,
    ImageFormat,
    ImageLimits,
    User,
    Variant,
    VariantStatus,
)
from pixelpress.domain.spec import TransformSpec, parse_query, plan
from pixelpress.ports import Cache, Clock, Database, ImageProcessor, ObjectStorage
from pixelpress.usecases.access import IMAGE_NOT_FOUND, may_see, visible_image
from pixelpress.usecases.admission import Budget, RenderGate
from pixelpress.usecases.renditions import rendition_hash, source_for
from pixelpress.usecases.transforms import resolve_watermark, variant_key, watermark_bytes

META_TTL = 7 * 24 * 3600
INLINE_TTL = 24 * 3600
"""Records that carry their bytes live a day: a shared Redis holds them beside locks and limits."""
CARD_TTL = 3600


@dataclass(frozen=True)
class Delivered:
    spec_hash: str
    key: str
    etag: str
    media_type: str
    size: int
    owner_id: str
    flattened: bool = False
    data: bytes | None = field(default=None, compare=False, repr=False)
    """The bytes themselves when at hand (just rendered, or small enough to be cached with
    this record): answered from memory rather than read from storage."""

    def dump(self) -> bytes:
        """The record as one JSON line, followed by the bytes when it carries them."""
        record = json.dumps({k: v for k, v in self.__dict__.items() if k != "data"}).encode()
        return record if self.data is None else record + b"\n" + self.data

    @classmethod
    def load(cls, data: bytes) -> Delivered:
        record, newline, body = data.partition(b"\n")  # JSON escapes newlines in strings
        return cls(**json.loads(record), data=body if newline else None)


@dataclass(frozen=True)
class Deliverer:
    db: Database
    storage: ObjectStorage
    cache: Cache
    processor: ImageProcessor
    clock: Clock
    limits: ImageLimits
    inline_bytes: int
    """Variants up to this size are cached with their record (see `Delivered.data`)."""
    gate: RenderGate = field(default_factory=lambda: RenderGate(slots=4, wait_seconds=2))
    """On-the-fly renders admitted at once in this process."""
    lock_seconds: int = 60
    wait_seconds: float = 60
    poll_seconds: float = 0.02


def meta_key(image_id: str, spec_hash: str) -> str:
    # Under the image's prefix: deleting or replacing the image purges it with the rest.
    # ("served/": records that may carry their bytes; "delivered/" held the older JSON-only
    # ones, which processes of the previous version sharing a Redis still read.)
    return f"images/{image_id}/served/{spec_hash}"


def card_key(image_id: str) -> str:
    return f"images/{image_id}/card"


@dataclass(frozen=True)
class Card:
    """What rendering needs to know of an image (the row and its ready rendition), cached so
    that the next new variant of an image seen lately is made without reading the database
    first. Kept under the image's prefix: replacing or deleting the image purges it."""

    image: Image
    rendition: Variant | None

    def dump(self) -> bytes:
        return json.dumps(
            {"image": asdict(self.image), "rendition": self.rendition and asdict(self.rendition)},
            default=_iso,
        ).encode()

    @classmethod
    def load(cls, data: bytes) -> Card:
        record = json.loads(data)
        image, rendition = record["image"], record["rendition"]
        return cls(
            Image(
                **image
                | {
                    "format": ImageFormat(image["format"]),
                    "created_at": datetime.fromisoformat(image["created_at"]),
                }
            ),
            rendition
            and Variant(
                **rendition
                | {
                    "status": VariantStatus(rendition["status"]),
                    "created_at": datetime.fromisoformat(rendition["created_at"]),
                }
            ),
        )


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


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
    if spec is not None:
        found = await _cached(image_id, spec.hash, d, viewer)
        if found is not None:
            return found
        card = await _card(image_id, d)
        if card is not None:
            try:
                variants = (
                    {} if card.rendition is None else {card.rendition.spec_hash: card.rendition}
                )
                return await _produce(
                    card.image, spec, variants, d, viewer, budget, looked_up=False
                )
            except NotFound:
                # The card is out of date (the image was replaced or deleted since it was
                # written): forget it and ask the database.
                await d.cache.delete(card_key(image_id))
    image, settled, variants = await _lookup(image_id, spec, d, viewer)
    if spec is None:
        # The original's spec is only known now: its record may be cached all the same.
        found = await _cached(image.id, settled.hash, d, viewer)
        if found is not None:
            return found
    return await _produce(image, settled, variants, d, viewer, budget, looked_up=True)


async def settle_spec(
    image_id: str, spec: TransformSpec | None, *, user: User, db: Database, limits: ImageLimits
) -> TransformSpec | None:
    """`spec` settled for `user`'s image: its watermark named by image id (as a URL carries
    it), and checked against the image (a crop outside it, an output past the limits) before a
    URL is minted, rather than failing every time the URL is fetched."""
    async with db.unit_of_work(readonly=True) as uow:
        image = await visible_image(uow, image_id, user)
        if spec is not None:
            spec = await resolve_watermark(uow, spec, user)
    if spec is not None:
        plan(
            spec, width=image.width, height=image.height, source_format=image.format, limits=limits
        )
    return spec


async def forget(image_id: str, found: Delivered, *, d: Deliverer) -> None:
    """Drops a cached record whose stored object turned out to be gone (purged meanwhile, or
    lost): the next `deliver` looks again and renders it if it must."""
    await d.cache.delete(meta_key(image_id, found.spec_hash))


async def _produce(
    image: Image,
    spec: TransformSpec,
    variants: dict[str, Variant],
    d: Deliverer,
    viewer: User | None,
    budget: Budget | None,
    *,
    looked_up: bool,
) -> Delivered:
    """The stored rendering of `spec`, rendered here unless it is stored already or a
    concurrent rendering (in any process) makes it. `looked_up`: whether `variants` came from
    the database with the spec's own row (a card holds only the rendition)."""
    if viewer is not None and not may_see(viewer, image.owner_id):
        raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
    output = plan(
        spec, width=image.width, height=image.height, source_format=image.format, limits=d.limits
    )
    key = variant_key(image.id, spec.hash, str(output.format))
    lock = f"images/{image.id}/rendering/{spec.hash}"
    deadline = asyncio.get_running_loop().time() + d.wait_seconds
    while True:
        found = await _stored(image, spec, variants.get(spec.hash), d)
        if found is not None:
            return found
        if await d.cache.add(lock, b"1", ttl=d.lock_seconds):
            try:
                # Whoever held the lock before us may have finished it just now.
                found = await _cached(image.id, spec.hash, d, viewer)
                if found is None and not looked_up:
                    # Made by a job, or its record evicted: stored without a record.
                    found = await _stored(image, spec, await _row(image, spec, key, d), d)
                if found is not None:
                    return found
                rendition = variants.get(rendition_hash(image) or "")
                if budget is not None:
                    await budget()
                async with d.gate.admitted():
                    return await _render(image, spec, key, rendition, d)
            finally:
                await d.cache.delete(lock)
        # Someone else is rendering it: wait for their result rather than render it twice.
        while await d.cache.get(lock) is not None:
            if asyncio.get_running_loop().time() > deadline:
                raise Unavailable("The rendering is taking too long.", dependency="processor")
            await asyncio.sleep(d.poll_seconds)
        found = await _cached(image.id, spec.hash, d, viewer)
        if found is not None:
            return found
        async with d.db.unit_of_work(readonly=True) as uow:
            variants = variants | await uow.variants.find_many(image.id, [spec.hash])


async def _row(image: Image, spec: TransformSpec, key: str, d: Deliverer) -> Variant | None:
    """The spec's own row, read only when its object may exist: where the store keeps files, a
    missing file says "not stored" for the price of one stat."""
    local = d.storage.local_path(key)
    if local is not None and not local.is_file():
        return None
    async with d.db.unit_of_work(readonly=True) as uow:
        return await uow.variants.find(image.id, spec.hash)


async def _card(image_id: str, d: Deliverer) -> Card | None:
    data = await d.cache.get(card_key(image_id))
    if data is None:
        return None
    try:
        return Card.load(data)
    except (ValueError, TypeError, KeyError):  # written by another version of Pixelpress
        await d.cache.delete(card_key(image_id))
        return None


async def _lookup(
    image_id: str, spec: TransformSpec | None, d: Deliverer, viewer: User | None
) -> tuple[Image, TransformSpec, dict[str, Variant]]:
    """The image, the spec (the original's when None) and, in the same read, the variants a
    render needs: the spec's own and the image's rendition. Leaves a card of the image in the
    cache once its background work is done (its rendition, if it gets one, is ready)."""
    async with d.db.unit_of_work(readonly=True) as uow:
        image = await uow.images.get(image_id)
        if image is None or (viewer is not None and not may_see(viewer, image.owner_id)):
            raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
        if spec is None:
            spec = parse_query({"format": image.format if image.format != "tiff" else "jpeg"})
        hashes = [spec.hash]
        if (wanted := rendition_hash(image)) is not None:
            hashes.append(wanted)
        variants = await uow.variants.find_many(image.id, hashes)
    rendition = variants.get(wanted) if wanted is not None else None
    if wanted is None or (rendition is not None and rendition.status is VariantStatus.READY):
        await d.cache.set(card_key(image.id), Card(image, rendition).dump(), ttl=CARD_TTL)
    return image, spec, variants


async def _cached(
    image_id: str, spec_hash: str, d: Deliverer, viewer: User | None
) -> Delivered | None:
    key = meta_key(image_id, spec_hash)
    data = await d.cache.get(key)
    if data is None:
        return None
    try:
        found = Delivered.load(data)
    except (ValueError, TypeError):  # written by another version of Pixelpress
        await d.cache.delete(key)
        return None
    if viewer is not None and not may_see(viewer, found.owner_id):
        raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
    return found


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
        if variant.size <= d.inline_bytes:
            data = await d.storage.get(variant.storage_key)
        elif not await d.storage.exists(variant.storage_key):
            return None
    except NotFound:
        return None
    found = _delivered(
        image, spec.hash, variant.storage_key, variant.size, flattened=variant.flattened
    )
    await _remember(image, replace(found, data=data), d)
    # A delete or replace that committed after our read purged the cache before we wrote to
    # it: look once more, and take back what we wrote if the image changed meanwhile.
    async with d.db.unit_of_work(readonly=True) as uow:
        current = await uow.images.get(image.id)
    if current is None or current.content_hash != image.content_hash:
        await d.cache.delete(meta_key(image.id, spec.hash))
        raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
    return replace(found, data=data)


async def _remember(image: Image, found: Delivered, d: Deliverer) -> None:
    """Caches the record, with the bytes when they are small enough."""
    small = found.data is not None and len(found.data) <= d.inline_bytes
    record = found if small else replace(found, data=None)
    ttl = INLINE_TTL if small else META_TTL
    await d.cache.set(meta_key(image.id, found.spec_hash), record.dump(), ttl=ttl)


async def _render(
    image: Image, spec: TransformSpec, key: str, rendition: Variant | None, d: Deliverer
) -> Delivered:
    source = await source_for(image, spec, rendition, storage=d.storage)
    watermark = await watermark_bytes(spec, db=d.db, storage=d.storage)
    rendered = await d.processor.render(source, spec, watermark=watermark)
    await d.storage.put(key, rendered.data, media_type=MEDIA_TYPES[rendered.format])
    variant = Variant(
        id=new_id(),
        image_id=image.id,
        spec_hash=spec.hash,
        spec=spec.canonical(),
        storage_key=key,
        format=rendered.format,
        status=VariantStatus.READY,
        created_at=d.clock.now(),
        flattened=rendered.flattened,
    )
    variant.width, variant.height, variant.size = (
        rendered.width,
        rendered.height,
        len(rendered.data),
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
        await _remember(image, found, d)
        await uow.commit()
    return found
