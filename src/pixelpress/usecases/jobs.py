"""Running jobs. Any worker may run any job id any number of times: the claim is atomic, the
output key is derived from (image, spec hash), and a finished job is never run again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pixelpress.domain.backoff import backoff
from pixelpress.domain.errors import DomainError, Unavailable
from pixelpress.domain.ids import new_id
from pixelpress.domain.keys import variant_key
from pixelpress.domain.models import (
    MEDIA_TYPES,
    ClaimOutcome,
    Image,
    Job,
    JobStatus,
    LogLevel,
    Rendered,
    Variant,
    VariantStatus,
)
from pixelpress.ports import Clock, Database, ImageProcessor, ObjectStorage, TaskQueue
from pixelpress.usecases.faces import FaceFinder, focus_for
from pixelpress.usecases.logs import record_event
from pixelpress.usecases.notifications import hand_on, notify_job_outcome
from pixelpress.usecases.renditions import (
    find_levels,
    is_level,
    rendition_hash,
    smaller_levels,
    source_for,
)
from pixelpress.usecases.transforms import publish_after_commit, watermark_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRunner:
    """What running a job needs. `orphaned_before`: jobs started before it are known to be
    abandoned (an in-process queue sets it to its own start time)."""

    db: Database
    storage: ObjectStorage
    processor: ImageProcessor
    clock: Clock
    queue: TaskQueue
    """Image jobs."""
    notices: TaskQueue
    """Notifications, handed on when a job ends."""
    lease_seconds: float
    """How long a claim holds a job without being renewed; the running worker renews it every
    third of that. A worker that dies stops renewing, and another takes the job once it ends."""
    max_attempts: int
    retry_base_seconds: float = 2.0
    orphaned_before: datetime | None = None
    faces: FaceFinder | None = None
    """For cover crops with face gravity (without it, those are cut as `auto`)."""

    def retry_delay(self, attempts: int) -> float:
        return backoff(self.retry_base_seconds, attempts, cap=300)

    def lease_from(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_seconds)


async def run_job(job_id: str, *, runner: JobRunner) -> JobStatus | None:
    """Claims and renders one job. Returns its final status, or None when there was nothing to
    do (already finished, being run elsewhere, or its image is gone). Never raises for a job's
    own failure: that is recorded on the job."""
    now = runner.clock.now()
    variant = image = None
    async with runner.db.unit_of_work() as uow:
        claim = await uow.jobs.claim(
            job_id, now=now, lease_until=runner.lease_from(now), max_attempts=runner.max_attempts
        )
        job = claim.job
        if claim.outcome is ClaimOutcome.CLAIMED and job is not None:
            variant = await uow.variants.get(job.variant_id)
            image = await uow.images.get(job.image_id)
        await uow.commit()
    if claim.outcome is ClaimOutcome.BUSY and job is not None and job.lease_until is not None:
        # Held by another worker, maybe one that just died (its message came back to us at
        # once): look again when its lease ends.
        wait = (job.lease_until - now).total_seconds() + 1
        await publish_after_commit(runner.queue, job.id, delay=max(1.0, wait), key=job.image_id)
        return None
    if claim.outcome is ClaimOutcome.CRASHED and job is not None:
        log.error("job %s killed its worker %d times: failed", job.id, job.attempts)
        return await _finish(job, runner, JobStatus.FAILED, error=job.error, code=job.code)
    if claim.outcome is not ClaimOutcome.CLAIMED or job is None:
        return None
    if variant is None or image is None:
        return None
    made: list[Variant] = []
    try:
        async with _lease_kept(job, runner):
            if variant.status is not VariantStatus.READY or not await runner.storage.exists(
                variant.storage_key
            ):
                spec = variant.spec
                watermark = await watermark_bytes(spec, db=runner.db, storage=runner.storage)
                async with runner.db.unit_of_work(readonly=True) as uow:
                    levels = await find_levels(uow, image)
                source = await source_for(image, spec, levels, storage=runner.storage)
                focus = await focus_for(image, spec, source, runner.faces)
                top = variant.spec_hash == rendition_hash(image)
                rendered = await runner.processor.render(
                    source, spec, watermark=watermark, focus=focus, master=top
                )
                await _store(runner, variant, rendered)
                if top:
                    made = await _smaller_levels(runner, image, variant, rendered.data)
        return await _finish(job, runner, JobStatus.PROCESSED, variant=variant, levels=made)
    except Unavailable as exc:
        # A dependency is down: try again later, unless this was the last attempt.
        if job.attempts < runner.max_attempts:
            async with runner.db.unit_of_work() as uow:
                await uow.jobs.requeue(job.id, exc.message)
                await uow.commit()
            await publish_after_commit(
                runner.queue, job.id, delay=runner.retry_delay(job.attempts), key=job.image_id
            )
            return JobStatus.QUEUED
        return await _finish(job, runner, JobStatus.FAILED, error=exc.message, code=exc.code)
    except DomainError as exc:
        return await _finish(job, runner, JobStatus.FAILED, error=exc.message, code=exc.code)
    except Exception:
        log.exception("job %s failed unexpectedly", job.id)
        return await _finish(
            job,
            runner,
            JobStatus.FAILED,
            error="Internal error while rendering the image.",
            code="internal_error",
        )


async def _store(runner: JobRunner, variant: Variant, rendered: Rendered) -> None:
    await runner.storage.put(
        variant.storage_key, rendered.data, media_type=MEDIA_TYPES[rendered.format]
    )
    variant.mark_ready(
        width=rendered.width,
        height=rendered.height,
        size=len(rendered.data),
        flattened=rendered.flattened,
    )


async def _smaller_levels(
    runner: JobRunner, image: Image, top: Variant, data: bytes
) -> list[Variant]:
    """The image's smaller renditions, made from its largest (`top`, just rendered as `data`)
    rather than from the original again, and stored: their rows are written with the job's
    outcome, dated like `top` (so that no variant the owner asked for meanwhile is older)."""
    made = []
    for spec in smaller_levels(image):
        rendered = await runner.processor.render(data, spec, master=True)
        level = Variant(
            id=new_id(),
            image_id=image.id,
            spec_hash=spec.hash,
            spec=spec,
            storage_key=variant_key(image.id, spec.hash, str(rendered.format)),
            format=rendered.format,
            status=VariantStatus.PENDING,
            created_at=top.created_at,
        )
        await _store(runner, level, rendered)
        made.append(level)
    return made


@contextlib.asynccontextmanager
async def _lease_kept(job: Job, runner: JobRunner) -> AsyncIterator[None]:
    """Renews the job's lease every third of its length while the body runs: the heartbeat
    that tells other workers this one is alive."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(runner.lease_seconds / 3)
            try:
                async with runner.db.unit_of_work() as uow:
                    kept = await uow.jobs.renew(
                        job.id,
                        attempt=job.attempts,
                        lease_until=runner.lease_from(runner.clock.now()),
                    )
                    await uow.commit()
            except Unavailable:
                continue  # the database is away: the lease may lapse, and the job run twice
            if not kept:
                log.warning("job %s: lease lost to another worker", job.id)
                return

    heart = asyncio.create_task(beat())
    try:
        yield
    finally:
        heart.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heart


async def _finish(
    job: Job,
    runner: JobRunner,
    status: JobStatus,
    *,
    variant: Variant | None = None,
    levels: list[Variant] | None = None,
    error: str | None = None,
    code: str | None = None,
) -> JobStatus:
    """Records the outcome; `variant` is the rendered variant to store with a success, and
    `levels` the smaller renditions made with it."""
    levels = levels or []
    async with runner.db.unit_of_work() as uow:
        current = await uow.variants.get(job.variant_id)
        if current is None:
            # The image was deleted while we rendered: take back what we wrote.
            for written in ([variant] if variant is not None else []) + levels:
                await runner.storage.delete(written.storage_key)
            return status
        if variant is not None:
            await uow.variants.update(variant)
        elif status is JobStatus.FAILED:
            current.mark_failed()
            await uow.variants.update(current)
        for level in levels:
            await uow.variants.save(level)
        await uow.jobs.finish(job.id, status, now=runner.clock.now(), error=error, code=code)
        outcome = replace(job, status=status, error=error, code=code)
        image = await uow.images.get(job.image_id)
        notifications = (
            []  # a rendition is Pixelpress's own work: the owner asked for nothing
            if image is None or is_level(image, current.spec_hash)
            else await notify_job_outcome(uow, outcome, runner.clock)
        )
        if status is JobStatus.FAILED:
            await record_event(
                uow,
                LogLevel.ERROR,
                f"Job {job.id} failed: {error}",
                clock=runner.clock,
                user_id=job.owner_id,
                image_id=job.image_id,
                context={"jobId": job.id, "attempts": job.attempts, "code": code},
            )
        await uow.commit()
    for notification_id in notifications:
        await hand_on(runner.notices, notification_id)
    if status is JobStatus.FAILED:
        try:
            await runner.queue.dead_letter(job.id, error or "failed")
        except Unavailable:  # the job row says `failed` with its reason: that is the record
            log.warning("job %s failed for good; its dead-letter copy was not sent", job.id)
    return status


async def republish_unfinished(*, runner: JobRunner) -> int:
    """Publishes again every job left queued, or processing under a lease that ended (its
    worker died). Safe to call any time: a job delivered twice is claimed once."""
    now = runner.clock.now()
    # Notifications are handed on right after the commit that makes them; one still untried a
    # lease's length later was lost on the way (or, in process, when the process stopped).
    handed_by = now - timedelta(seconds=runner.lease_seconds)
    if runner.orphaned_before is not None:
        handed_by = max(handed_by, runner.orphaned_before)
    async with runner.db.unit_of_work() as uow:
        if runner.orphaned_before is not None:
            await uow.jobs.expire_leases(started_before=runner.orphaned_before)
        ids = await uow.jobs.unfinished(now=now)
        lost = await uow.notifications.lost(before=handed_by)
        await uow.commit()
    for job_id in ids:
        await publish_after_commit(runner.queue, job_id)
    for notification_id in lost:
        await hand_on(runner.notices, notification_id)
    return len(ids)
