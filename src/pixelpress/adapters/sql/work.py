"""The repository of jobs. Their states change by the entity's own methods (`domain.work.Job`);
this persists what they decided, with a compare-and-set where workers race (claims, renewals):
an UPDATE that holds only if the row is still in the state it was read in."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pixelpress.adapters.sql.common import insert_entity
from pixelpress.adapters.sql.tables import jobs
from pixelpress.domain.work import Claim, ClaimOutcome, Job, JobStatus


def _job(row: Row[Any]) -> Job:
    m = dict(row._mapping)
    m["status"] = JobStatus(m["status"])
    return Job(**m)


class SqlJobs:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, job: Job) -> None:
        await insert_entity(self._c, jobs, job)

    async def get(self, job_id: str) -> Job | None:
        row = (await self._c.execute(select(jobs).where(jobs.c.id == job_id))).first()
        return _job(row) if row else None

    async def list_for_images(self, image_ids: list[str]) -> dict[str, list[Job]]:
        query = (
            select(jobs)
            .where(jobs.c.image_id.in_(image_ids))
            .order_by(jobs.c.created_at, jobs.c.id)
        )
        found: dict[str, list[Job]] = {image_id: [] for image_id in image_ids}
        for row in (await self._c.execute(query)).all():
            found[row.image_id].append(_job(row))
        return found

    async def _save(self, job: Job, *, was: tuple[JobStatus, int] | None = None) -> bool:
        """Writes the job's state; with `was` (its status and attempts when read), only if the
        row still has them. False when another writer changed it first."""
        values = asdict(job)
        del values["id"]
        query = update(jobs).where(jobs.c.id == job.id)
        if was is not None:
            query = query.where(jobs.c.status == was[0], jobs.c.attempts == was[1])
        result = await self._c.execute(query.values(**values))
        return bool(result.rowcount == 1)

    async def claim(
        self, job_id: str, *, now: datetime, lease_until: datetime, max_attempts: int
    ) -> Claim:
        job = await self.get(job_id)
        if job is None:
            return Claim(ClaimOutcome.GONE, None)
        was = (job.status, job.attempts)
        outcome = job.claim(now=now, lease_until=lease_until, max_attempts=max_attempts)
        if outcome in (ClaimOutcome.BUSY, ClaimOutcome.GONE):
            return Claim(outcome, job)
        if await self._save(job, was=was):
            return Claim(outcome, job)
        # Another worker claimed it (or finished it) between our read and our write.
        current = await self.get(job_id)
        busy = current is not None and not current.status.finished
        return Claim(ClaimOutcome.BUSY if busy else ClaimOutcome.GONE, current)

    async def renew(self, job_id: str, *, attempt: int, lease_until: datetime) -> bool:
        job = await self.get(job_id)
        if job is None or job.status is not JobStatus.PROCESSING or job.attempts != attempt:
            return False
        job.renew(lease_until)
        return await self._save(job, was=(JobStatus.PROCESSING, attempt))

    async def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        now: datetime,
        error: str | None = None,
        code: str | None = None,
    ) -> None:
        job = await self.get(job_id)
        if job is not None:
            job.finish(status, now=now, error=error, code=code)
            await self._save(job)

    async def requeue(self, job_id: str, error: str) -> None:
        job = await self.get(job_id)
        if job is not None:
            job.requeue(error)
            await self._save(job)

    async def expire_leases(self, *, started_before: datetime) -> int:
        result = await self._c.execute(
            update(jobs)
            .where(jobs.c.status == JobStatus.PROCESSING, jobs.c.started_at < started_before)
            .values(lease_until=started_before)
        )
        return int(result.rowcount)

    async def count_by_status(self) -> dict[JobStatus, int]:
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        found = {JobStatus(s): int(n) for s, n in (await self._c.execute(query)).all()}
        return {status: found.get(status, 0) for status in JobStatus}

    async def unfinished(self, *, now: datetime) -> list[str]:
        # The SQL form of Job.claimable, to find them all in one query.
        query = (
            select(jobs.c.id)
            .where(
                or_(
                    jobs.c.status == JobStatus.QUEUED,
                    and_(jobs.c.status == JobStatus.PROCESSING, jobs.c.lease_until < now),
                )
            )
            .order_by(jobs.c.created_at)
        )
        return list((await self._c.execute(query)).scalars())
