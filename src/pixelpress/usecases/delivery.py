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
from pixelpress.usecases.access import IMAGE_NOT_FOUND, may_see
from pixelpress.usecases.renditions import rendition_hash, source_for
from pixelpress.usecases.transforms import variant_key

META_TTL = 7 * 24 * 3600
CARD_TTL = 3600


@dataclass(frozen=True)
class Delivered:
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
    inline_bytes: int = 64 * 1024
    """Variants up to this size are cached with their record (see `Delivered.data`)."""
    lock_seconds: int = 60
    wait_seconds: float = 60
    poll_seconds: float = 0.02


def meta_key(image_id: str, spec_hash: str) -> str:
    # Under the image's prefix: deleting or replacing the image purges it with the rest.
    return f"images/{image_id}/delivered/{spec_hash}"


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
    image_id: str, spec: TransformSpec | None, *, d: Deliverer, viewer: User | None = None
) -> Delivered:
    """The stored rendering of `spec` (None: the original, upright and stripped), rendering it
    first if nobody has. `viewer` None means the caller holds a signed URL."""
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
                return await _produce(card.image, spec, variants, d, viewer)
            except NotFound:
                # The card is out of date (the image was replaced or deleted since it was
                # written): forget it and ask the database.
                await d.cache.delete(card_key(image_id))
    image, spec, variants = await _lookup(image_id, spec, d, viewer)
    return await _produce(image, spec, variants, d, viewer)


async def _produce(
    image: Image,
    spec: TransformSpec,
    variants: dict[str, Variant],
    d: Deliverer,
    viewer: User | None,
) -> Delivered:
    """The stored rendering of `spec`, rendered here unless `variants` or a concurrent
    rendering (in any process) already has it."""
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
                if found is not None:
                    return found
                rendition = variants.get(rendition_hash(image) or "")
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
    if found.data is None and not _still_stored(found, d):
        await d.cache.delete(key)  # outlived its object (purged meanwhile): look again
        return None
    return found


def _still_stored(found: Delivered, d: Deliverer) -> bool:
    """Checked where it is cheap (a local file); elsewhere the stream answers 404."""
    local = d.storage.local_path(found.key)
    return local is None or local.is_file()


def _delivered(
    image: Image, spec_hash: str, key: str, size: int, *, flattened: bool = False
) -> Delivered:
    ext = key.rsplit(".", 1)[-1]
    return Delivered(
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
    return await _remember(image, spec, replace(found, data=data), d)


async def _remember(image: Image, spec: TransformSpec, found: Delivered, d: Deliverer) -> Delivered:
    """Caches the record, with the bytes when they are small enough."""
    small = found.data is not None and len(found.data) <= d.inline_bytes
    record = found if small else replace(found, data=None)
    await d.cache.set(meta_key(image.id, spec.hash), record.dump(), ttl=META_TTL)
    return found


async def _render(
    image: Image, spec: TransformSpec, key: str, rendition: Variant | None, d: Deliverer
) -> Delivered:
    source = await source_for(image, spec, rendition, storage=d.storage)
    rendered = await d.processor.render(source, spec)
    await d.storage.put(key, rendered.data)
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
    async with d.db.unit_of_work() as uow:
        current = await uow.images.get(image.id)
        if current is None or current.content_hash != image.content_hash:
            # Deleted or replaced while we rendered: this rendering is of bytes that are gone.
            await d.storage.delete(key)
            raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
        await uow.variants.save(variant)
        await uow.commit()
    found = _delivered(image, spec.hash, key, len(rendered.data), flattened=rendered.flattened)
    return await _remember(image, spec, replace(found, data=rendered.data), d)
