"""Running jobs. Any worker may run any job id any number of times: the claim is atomic, the
output key is derived from (image, spec hash), and a finished job is never run again."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pixelpress.domain.backoff import backoff
from pixelpress.domain.errors import DomainError, Unavailable
from pixelpress.domain.models import MEDIA_TYPES, Job, JobStatus, LogLevel, Variant, VariantStatus
from pixelpress.domain.spec import TransformSpec
from pixelpress.ports import Clock, Database, ImageProcessor, JobQueue, ObjectStorage
from pixelpress.usecases.logs import record_event
from pixelpress.usecases.notifications import hand_on, notify_job_outcome
from pixelpress.usecases.renditions import find_rendition, source_for
from pixelpress.usecases.transforms import watermark_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRunner:
    """What running a job needs. `orphaned_before`: jobs started before it are known to be
    abandoned (an in-process queue sets it to its own start time)."""

    db: Database
    storage: ObjectStorage
    processor: ImageProcessor
    clock: Clock
    queue: JobQueue
    stale_seconds: int
    max_attempts: int
    retry_base_seconds: float = 2.0
    orphaned_before: datetime | None = None

    def retry_delay(self, attempts: int) -> float:
        return backoff(self.retry_base_seconds, attempts, cap=300)

    def stale_before(self) -> datetime:
        limit = self.clock.now() - timedelta(seconds=self.stale_seconds)
        if self.orphaned_before is not None and self.orphaned_before > limit:
            return self.orphaned_before
        return limit


async def run_job(job_id: str, *, runner: JobRunner) -> JobStatus | None:
    """Claims and renders one job. Returns its final status, or None when there was nothing to
    do (already finished, being run elsewhere, or its image is gone). Never raises for a job's
    own failure: that is recorded on the job."""
    now = runner.clock.now()
    async with runner.db.unit_of_work() as uow:
        job = await uow.jobs.claim(job_id, now=now, stale_before=runner.stale_before())
        if job is None:
            return None
        variant = await uow.variants.get(job.variant_id)
        image = await uow.images.get(job.image_id)
        await uow.commit()
    if variant is None or image is None:
        return None
    try:
        if variant.status is not VariantStatus.READY or not await runner.storage.exists(
            variant.storage_key
        ):
            spec = TransformSpec.from_canonical(variant.spec)
            watermark = await watermark_bytes(spec, db=runner.db, storage=runner.storage)
            async with runner.db.unit_of_work(readonly=True) as uow:
                rendition = await find_rendition(uow, image)
            source = await source_for(image, spec, rendition, storage=runner.storage)
            rendered = await runner.processor.render(source, spec, watermark=watermark)
            await runner.storage.put(
                variant.storage_key, rendered.data, media_type=MEDIA_TYPES[rendered.format]
            )
            variant.width, variant.height = rendered.width, rendered.height
            variant.flattened = rendered.flattened
            variant.size = len(rendered.data)
        variant.status = VariantStatus.READY
        return await _finish(job, runner, JobStatus.PROCESSED, variant=variant)
    except Unavailable as exc:
        # A dependency is down: try again later, unless this was the last attempt.
        if job.attempts < runner.max_attempts:
            async with runner.db.unit_of_work() as uow:
                await uow.jobs.requeue(job.id, exc.message)
                await uow.commit()
            await runner.queue.publish(job.id, delay=runner.retry_delay(job.attempts))
            return JobStatus.QUEUED
        return await _finish(job, runner, JobStatus.FAILED, error=exc.message)
    except DomainError as exc:
        return await _finish(job, runner, JobStatus.FAILED, error=exc.message)
    except Exception:
        log.exception("job %s failed unexpectedly", job.id)
        return await _finish(
            job, runner, JobStatus.FAILED, error="Internal error while rendering the image."
        )


async def _finish(
    job: Job,
    runner: JobRunner,
    status: JobStatus,
    *,
    variant: Variant | None = None,
    error: str | None = None,
) -> JobStatus:
    """Records the outcome; `variant` is the rendered variant to store with a success."""
    async with runner.db.unit_of_work() as uow:
        current = await uow.variants.get(job.variant_id)
        if current is None:
            # The image was deleted while we rendered: take back what we wrote.
            if variant is not None:
                await runner.storage.delete(variant.storage_key)
            return status
        if variant is not None:
            await uow.variants.update(variant)
        elif status is JobStatus.FAILED and current.status is not VariantStatus.READY:
            current.status = VariantStatus.FAILED
            await uow.variants.update(current)
        await uow.jobs.finish(job.id, status, now=runner.clock.now(), error=error)
        outcome = replace(job, status=status, error=error)
        notifications = await notify_job_outcome(uow, outcome, runner.clock)
        if status is JobStatus.FAILED:
            await record_event(
                uow,
                LogLevel.ERROR,
                f"Job {job.id} failed: {error}",
                clock=runner.clock,
                user_id=job.owner_id,
                image_id=job.image_id,
                context={"jobId": job.id, "attempts": job.attempts},
            )
        await uow.commit()
    for notification_id in notifications:
        await hand_on(runner.queue, notification_id)
    if status is JobStatus.FAILED:
        await runner.queue.dead_letter(job.id, error or "failed")
    return status


async def republish_unfinished(*, runner: JobRunner) -> int:
    """Publishes again every job left queued, or stale in processing. Safe to call any time:
    a job delivered twice is claimed once."""
    stale = runner.stale_before()
    async with runner.db.unit_of_work(readonly=True) as uow:
        ids = await uow.jobs.unfinished(stale_before=stale)
        lost = await uow.notifications.never_handed_on(before=stale)
    for job_id in ids:
        await runner.queue.publish(job_id)
    for notification_id in lost:
        await hand_on(runner.queue, notification_id)
    return len(ids)
