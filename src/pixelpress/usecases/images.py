"""The image library: upload, list, get, delete, status and download links."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from pixelpress.domain.errors import NotFound
from pixelpress.domain.ids import new_id
from pixelpress.domain.keys import image_prefix, original_key, replacement_key, variants_prefix
from pixelpress.domain.models import (
    MEDIA_TYPES,
    Image,
    ImageFilter,
    ImageLimits,
    Ingested,
    Job,
    JobStatus,
    Page,
    PageOf,
    User,
    Variant,
    VariantStatus,
)
from pixelpress.domain.spec import TransformSpec
from pixelpress.ports import (
    Cache,
    Clock,
    Database,
    ImageProcessor,
    ObjectStorage,
    TaskQueue,
    UnitOfWork,
)
from pixelpress.usecases.access import visible_image
from pixelpress.usecases.renditions import level_hashes, needs_rendition, rendition_spec
from pixelpress.usecases.transforms import Queued, publish_after_commit, queue_variant


@dataclass(frozen=True)
class ImageView:
    image: Image
    variants: list[Variant]
    jobs: list[Job]

    @property
    def status(self) -> str:
        """uploaded, queued, in progress, processed or failed: what the image's work is doing."""
        states = {job.status for job in self.jobs}
        if JobStatus.PROCESSING in states:
            return JobStatus.PROCESSING.label
        if JobStatus.QUEUED in states:
            return "queued"
        if not self.jobs:
            return "uploaded"
        return str(self.jobs[-1].status)


@dataclass(frozen=True)
class Upload:
    """A received file, spooled to local disk, with what was measured while receiving it."""

    path: Path
    filename: str
    size: int
    sha256: str


def clean_filename(name: str | None, fallback_ext: str) -> str:
    """Display text only: never used in a storage key or a path."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name).strip(" .")
    return name[:200] or f"image.{fallback_ext}"


async def upload_image(
    upload: Upload,
    *,
    user: User,
    spec: TransformSpec | None,
    db: Database,
    storage: ObjectStorage,
    processor: ImageProcessor,
    queue: TaskQueue,
    clock: Clock,
    limits: ImageLimits,
) -> tuple[ImageView, Queued | None]:
    """Stores a validated image; with a spec, also queues its transformation in the same
    transaction. Nothing is left behind when any step fails."""
    ingested = await processor.ingest(upload.path)
    info = ingested.info
    image = Image(
        id=new_id(),
        owner_id=user.id,
        filename=clean_filename(upload.filename, info.format),
        format=info.format,
        width=info.width,
        height=info.height,
        frames=info.frames,
        size=upload.size,
        content_hash=upload.sha256,
        storage_key="",
        created_at=clock.now(),
    )
    image.storage_key = original_key(image.id)
    await _store_original(image, upload, ingested, storage=storage, processor=processor)
    queued: Queued | None = None
    try:
        async with db.unit_of_work() as uow:
            await uow.images.add(image)
            rendition = await _queue_rendition(uow, image, user=user, clock=clock, limits=limits)
            if spec is not None:
                queued = await queue_variant(
                    uow, image, spec, user=user, clock=clock, limits=limits
                )
            await uow.commit()
    except BaseException:
        await storage.delete(image.storage_key)
        raise
    for job in (rendition, queued.job if queued else None):
        if job is not None:
            await publish_after_commit(queue, job.id, key=job.image_id)
    jobs = [queued.job] if queued and queued.job else []
    variants = [queued.variant] if queued else []
    return ImageView(image, variants, jobs), queued


async def _queue_rendition(
    uow: UnitOfWork, image: Image, *, user: User, clock: Clock, limits: ImageLimits
) -> Job | None:
    if not needs_rendition(image):
        return None
    queued = await queue_variant(
        uow, image, rendition_spec(image), user=user, clock=clock, limits=limits
    )
    return queued.job


async def _store_original(
    image: Image,
    upload: Upload,
    ingested: Ingested,
    *,
    storage: ObjectStorage,
    processor: ImageProcessor,
) -> None:
    """Writes the checked file (or its cleaned copy) under `image.storage_key` and fills in
    what is measured from it: size, hash, placeholder."""
    stored = ingested.cleaned if ingested.cleaned is not None else upload.path
    placeholder = await processor.placeholder(stored)
    image.blurhash, image.dominant_color = placeholder.blurhash, placeholder.dominant_color
    if ingested.cleaned is not None:
        image.size = len(ingested.cleaned)
        image.content_hash = hashlib.sha256(ingested.cleaned).hexdigest()
        await storage.put(image.storage_key, ingested.cleaned, media_type=MEDIA_TYPES[image.format])
    else:
        image.size, image.content_hash = upload.size, upload.sha256
        await storage.put_file(image.storage_key, upload.path, media_type=MEDIA_TYPES[image.format])


async def replace_image(
    image_id: str,
    upload: Upload,
    *,
    user: User,
    db: Database,
    storage: ObjectStorage,
    processor: ImageProcessor,
    cache: Cache,
    queue: TaskQueue,
    clock: Clock,
    limits: ImageLimits,
) -> ImageView:
    """New bytes for an image: every variant, rendition and cache entry of the old ones goes,
    and later renders start from the new bytes. The id, owner and creation time stay."""
    async with db.unit_of_work(readonly=True) as uow:
        old = await visible_image(uow, image_id, user)
    ingested = await processor.ingest(upload.path)
    # First, while nothing has changed: a cache that cannot be purged (Redis down) stops the
    # replace here (503), rather than leave other processes serving the old bytes.
    await cache.delete_prefix(image_prefix(old.id))
    info = ingested.info
    new = replace(
        old,
        filename=clean_filename(upload.filename, info.format) if upload.filename else old.filename,
        format=info.format,
        width=info.width,
        height=info.height,
        frames=info.frames,
        # A new key: readers of the old row keep finding the old bytes until the commit.
        storage_key=replacement_key(old.id, new_id()[:12]),
    )
    await _store_original(new, upload, ingested, storage=storage, processor=processor)
    try:
        async with db.unit_of_work() as uow:
            await visible_image(uow, image_id, user)  # not deleted meanwhile
            await uow.images.replace(new)
            rendition = await _queue_rendition(uow, new, user=user, clock=clock, limits=limits)
            await uow.commit()
    except BaseException:
        await storage.delete(new.storage_key)
        raise
    await storage.delete(old.storage_key)
    await storage.delete_prefix(variants_prefix(old.id))
    await cache.delete_prefix(image_prefix(old.id))
    if rendition is not None:
        await publish_after_commit(queue, rendition.id, key=rendition.image_id)
    return ImageView(new, [], [])


async def views_of(uow: UnitOfWork, images: list[Image]) -> list[ImageView]:
    ids = [image.id for image in images]
    variants = await uow.variants.list_for_images(ids)
    jobs = await uow.jobs.list_for_images(ids)
    return [_view(image, variants[image.id], jobs[image.id]) for image in images]


def _view(image: Image, variants: list[Variant], jobs: list[Job]) -> ImageView:
    """The rendition's job is Pixelpress's own work: it does not make an image `processed`."""
    levels = level_hashes(image)
    if not levels:
        return ImageView(image, variants, jobs)
    internal = {v.id for v in variants if v.spec_hash in levels}
    return ImageView(image, variants, [j for j in jobs if j.variant_id not in internal])


async def list_images(
    *, user: User, page: Page, db: Database, where: ImageFilter = ImageFilter()
) -> PageOf[ImageView]:
    async with db.unit_of_work(readonly=True) as uow:
        found = await uow.images.list_page(user.id, page, where)
        views = await views_of(uow, found.items)
    return PageOf(items=views, page=found.page, total=found.total)


async def get_image(image_id: str, *, user: User, db: Database) -> ImageView:
    async with db.unit_of_work(readonly=True) as uow:
        image = await visible_image(uow, image_id, user)
        return (await views_of(uow, [image]))[0]


async def delete_image(
    image_id: str, *, user: User, db: Database, storage: ObjectStorage, cache: Cache
) -> None:
    """Rows first (so nothing points at missing bytes), then every stored object and cache entry.
    The cache is purged once before anything changes too: one that cannot be purged (Redis
    down) stops the delete there (503), rather than leave other processes serving it."""
    async with db.unit_of_work(readonly=True) as uow:
        await visible_image(uow, image_id, user)
    await cache.delete_prefix(image_prefix(image_id))
    async with db.unit_of_work() as uow:
        image = await visible_image(uow, image_id, user)
        await uow.images.delete(image.id)
        await uow.commit()
    await storage.delete_prefix(image_prefix(image.id))
    await cache.delete_prefix(image_prefix(image.id))


@dataclass(frozen=True)
class Download:
    key: str
    filename: str
    """Named for what the bytes are: the stem the user gave, the extension of the format."""
    media_type: str
    """Of the format Pixelpress detected (an original) or wrote (a variant), never of a name."""


async def find_download(
    image_id: str, variant: str | None, *, user: User, db: Database
) -> Download:
    """Which stored object a download of `variant` (an id, `original`, or None: the latest
    processed variant) means."""
    async with db.unit_of_work(readonly=True) as uow:
        image = await visible_image(uow, image_id, user)
        stem = image.filename.rsplit(".", 1)[0] if "." in image.filename else image.filename
        if variant == "original":
            fmt = str(image.format)
            return Download(image.storage_key, f"{stem}.{fmt}", MEDIA_TYPES[fmt])
        variants = (await uow.variants.list_for_images([image.id]))[image.id]
    ready = [v for v in variants if v.status is VariantStatus.READY]
    if variant is not None:
        ready = [v for v in ready if v.id == variant]
    else:  # the latest the owner asked for: never a rendition, Pixelpress's own
        levels = set(level_hashes(image))
        ready = [v for v in ready if v.spec_hash not in levels]
    if not ready:
        raise NotFound("Processed image not available.", code="variant_not_available")
    chosen = ready[-1]
    return Download(
        chosen.storage_key, f"{stem}-{chosen.id[:8]}.{chosen.format}", MEDIA_TYPES[chosen.format]
    )
