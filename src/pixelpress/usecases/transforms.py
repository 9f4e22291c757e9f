"""Requesting transformations: one variant per (image, canonical spec), one job to render it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from pixelpress.domain.errors import Conflict, NotFound, Unavailable, Unprocessable
from pixelpress.domain.faces import Box, wants_faces
from pixelpress.domain.ids import new_id
from pixelpress.domain.keys import variant_key
from pixelpress.domain.models import (
    Image,
    ImageLimits,
    Job,
    JobStatus,
    User,
    Variant,
    VariantStatus,
)
from pixelpress.domain.spec import TransformSpec, plan
from pixelpress.ports import Clock, Database, ObjectStorage, TaskQueue, UnitOfWork
from pixelpress.usecases.access import may_see, visible_image
from pixelpress.usecases.faces import FaceFinder
from pixelpress.usecases.renditions import is_level

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Queued:
    variant: Variant
    job: Job | None
    """None when the variant was already rendered (nothing to do)."""


async def resolve_watermark(uow: UnitOfWork, spec: TransformSpec, user: User) -> TransformSpec:
    """Turns a watermark reference (an image id or filename of the user's own) into an image id."""
    ref = spec.watermark_ref
    if ref is None:
        return spec
    found = await uow.images.get(ref)
    if found is None or not may_see(user, found.owner_id):
        found = await uow.images.find_by_filename(user.id, ref)
    if found is None:
        raise Unprocessable(
            "The watermark image is not one of your images.",
            code="watermark_not_found",
            field="watermark",
        )
    return spec.with_watermark_image(found.id)


async def watermark_bytes(
    spec: TransformSpec, *, db: Database, storage: ObjectStorage
) -> bytes | None:
    """The bytes of the spec's image watermark (resolved to an id), None without one."""
    if spec.watermark_image_id is None:
        return None
    async with db.unit_of_work(readonly=True) as uow:
        mark = await uow.images.get(spec.watermark_image_id)
    if mark is None:
        raise NotFound("The watermark image was deleted.", code="watermark_not_found")
    return await storage.get(mark.storage_key)


async def queue_variant(
    uow: UnitOfWork,
    image: Image,
    spec: TransformSpec,
    *,
    user: User,
    clock: Clock,
    limits: ImageLimits,
) -> Queued:
    """Inside the caller's transaction: finds or creates the variant and, unless it is already
    rendered or being rendered, a job for it. The caller publishes the job after commit."""
    spec = await resolve_watermark(uow, spec, user)
    output = plan(
        spec, width=image.width, height=image.height, source_format=image.format, limits=limits
    )
    spec_hash = spec.hash
    now = clock.now()
    variant = await uow.variants.find(image.id, spec_hash)
    if variant is None:
        variant = Variant(
            id=new_id(),
            image_id=image.id,
            spec_hash=spec_hash,
            spec=spec,
            storage_key=variant_key(image.id, spec_hash, str(output.format)),
            format=output.format,
            status=VariantStatus.PENDING,
            created_at=now,
        )
        try:
            await uow.variants.add(variant)
        except Conflict:
            # The same spec was requested at the same moment: join that variant.
            found = await uow.variants.find(image.id, spec_hash)
            if found is None:
                raise
            variant = found
    if variant.status is VariantStatus.READY:
        return Queued(variant, None)
    jobs = (await uow.jobs.list_for_images([image.id]))[image.id]
    active = [j for j in jobs if j.variant_id == variant.id and not j.status.finished]
    if active:
        return Queued(variant, active[-1])
    if variant.retry():
        await uow.variants.update(variant)
    job = Job(
        id=new_id(),
        image_id=image.id,
        variant_id=variant.id,
        owner_id=image.owner_id,
        status=JobStatus.QUEUED,
        created_at=now,
    )
    await uow.jobs.add(job)
    return Queued(variant, job)


async def request_transform(
    image_id: str,
    spec: TransformSpec,
    *,
    user: User,
    db: Database,
    queue: TaskQueue,
    clock: Clock,
    limits: ImageLimits,
    presets: Sequence[str] = (),
) -> Queued:
    """`presets`: those the spec came from (what it makes is purged when they change)."""
    async with db.unit_of_work() as uow:
        image = await visible_image(uow, image_id, user)
        queued = await queue_variant(uow, image, spec, user=user, clock=clock, limits=limits)
        if not is_level(image, queued.variant.spec_hash):
            await uow.presets.link(presets, image.id, queued.variant.spec_hash)
        await uow.commit()
    if queued.job is not None and queued.job.status is JobStatus.QUEUED:
        await publish_after_commit(queue, queued.job.id, key=queued.job.image_id)
    return queued


async def publish_after_commit(
    queue: TaskQueue, job_id: str, *, delay: float = 0, key: str | None = None
) -> None:
    """The job row is committed, so the work is safe: if the broker is down now, the periodic
    sweep publishes it later. The request still succeeds. `key`: the job's image id."""
    try:
        await queue.publish(job_id, delay=delay, key=key)
    except Unavailable:
        log.warning("job %s not published now; the sweep will publish it", job_id)


async def get_job(job_id: str, *, user: User, db: Database) -> Job:
    async with db.unit_of_work(readonly=True) as uow:
        job = await uow.jobs.get(job_id)
    if job is None or not may_see(user, job.owner_id):
        raise NotFound("Job not found.", code="job_not_found")
    return job


async def watch_job(
    job: Job, *, db: Database, interval: float, give_up_after: float = 3600
) -> AsyncIterator[Job]:
    """The job as it is now, then again each time its state changes, until it ends. Reads the
    database, so it follows work done by any process."""
    yield job
    deadline = asyncio.get_running_loop().time() + give_up_after
    last = job.status
    while not last.finished and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(interval)
        async with db.unit_of_work(readonly=True) as uow:
            current = await uow.jobs.get(job.id)
        if current is None:  # the image was deleted
            return
        if current.status is not last:
            last = current.status
            yield current


@dataclass(frozen=True)
class DryRun:
    width: int
    height: int
    format: str
    cached: bool
    """Already rendered and stored: asking for it costs nothing."""
    faces: tuple[Box, ...] | None = None
    """With face gravity: the faces found, in pixels of the upright original, largest first."""


async def dry_run(
    image_id: str,
    spec: TransformSpec,
    *,
    user: User,
    db: Database,
    limits: ImageLimits,
    faces: FaceFinder | None = None,
) -> DryRun:
    """What a transformation would give, without rendering anything (faces are looked for,
    once per image, when the spec asks for face gravity and `faces` is given)."""
    async with db.unit_of_work(readonly=True) as uow:
        image = await visible_image(uow, image_id, user)
        spec = await resolve_watermark(uow, spec, user)
        output = plan(
            spec, width=image.width, height=image.height, source_format=image.format, limits=limits
        )
        variant = await uow.variants.find(image.id, spec.hash)
    cached = variant is not None and variant.status is VariantStatus.READY
    found = None
    if faces is not None and wants_faces(spec):
        found = (await faces.faces(image)).boxes
    return DryRun(output.width, output.height, str(output.format), cached, found)


async def settle_spec(
    image_id: str, spec: TransformSpec | None, *, user: User, db: Database, limits: ImageLimits
) -> TransformSpec | None:
    """`spec` settled for `user`'s image: its watermark named by image id (as a URL carries
    it), and checked against the image (a crop outside it, an output past the limits) before a
    URL is minted, rather than failing every time the URL is fetched."""
    return (await settle_for(image_id, spec, user=user, db=db, limits=limits))[1]


async def settle_for(
    image_id: str, spec: TransformSpec | None, *, user: User, db: Database, limits: ImageLimits
) -> tuple[Image, TransformSpec | None]:
    """`settle_spec`, with the image it was settled against."""
    async with db.unit_of_work(readonly=True) as uow:
        image = await visible_image(uow, image_id, user)
        if spec is not None:
            spec = await resolve_watermark(uow, spec, user)
    if spec is not None:
        plan(
            spec, width=image.width, height=image.height, source_format=image.format, limits=limits
        )
    return image, spec
