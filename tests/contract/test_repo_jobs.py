"""JobRepository over SQLite and PostgreSQL: claims under leases, renewals, outcomes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pixelpress.domain.models import Claim, ClaimOutcome, JobStatus
from pixelpress.ports import Database
from tests.contract.entities import LEASE, LEASE_LENGTH, NOW, job, seed_job


async def test_one_claim_wins_under_concurrency(database: Database) -> None:
    j = (await seed_job(database)).job

    async def claim() -> Claim:
        async with database.unit_of_work() as uow:
            got = await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
            await uow.commit()
            return got

    claims = await asyncio.gather(*(claim() for _ in range(8)))
    winners = [c for c in claims if c.outcome is ClaimOutcome.CLAIMED]
    assert len(winners) == 1
    assert {c.outcome for c in claims} == {ClaimOutcome.CLAIMED, ClaimOutcome.BUSY}
    won = winners[0].job
    assert won is not None and won.status is JobStatus.PROCESSING and won.attempts == 1
    assert won.lease_until == LEASE and won.started_at == NOW


async def test_a_job_whose_lease_ended_is_taken_again(database: Database) -> None:
    j = (await seed_job(database)).job
    after = LEASE + timedelta(seconds=1)
    async with database.unit_of_work() as uow:
        first = await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
        assert first.outcome is ClaimOutcome.CLAIMED
        # leased: not claimable, not listed as unfinished; BUSY names when the lease ends
        busy = await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
        assert busy.outcome is ClaimOutcome.BUSY and busy.job and busy.job.lease_until == LEASE
        assert await uow.jobs.unfinished(now=NOW) == []
        # the running worker renews its claim; a renewal of another claim does nothing
        renewed = LEASE + timedelta(minutes=1)
        assert await uow.jobs.renew(j.id, attempt=1, lease_until=renewed)
        assert not await uow.jobs.renew(j.id, attempt=2, lease_until=NOW)
        held = await uow.jobs.get(j.id)
        assert held is not None and held.lease_until == renewed
        assert await uow.jobs.unfinished(now=after) == []
        # the lease ends: listed, and claimed again with the attempt counted
        later = LEASE + timedelta(minutes=2)
        assert await uow.jobs.unfinished(now=later) == [j.id]
        again = await uow.jobs.claim(j.id, now=later, lease_until=later + LEASE_LENGTH,
                                     max_attempts=3)  # fmt: skip
        assert again.outcome is ClaimOutcome.CLAIMED and again.job and again.job.attempts == 2
        assert not await uow.jobs.renew(j.id, attempt=1, lease_until=later)  # that claim is over
        await uow.jobs.finish(j.id, JobStatus.PROCESSED, now=later)
        assert not await uow.jobs.renew(j.id, attempt=2, lease_until=later)  # finished
        done = await uow.jobs.claim(j.id, now=later + timedelta(days=1), lease_until=later,
                                    max_attempts=3)  # fmt: skip
        assert done.outcome is ClaimOutcome.GONE
        assert done.job is not None and done.job.status is JobStatus.PROCESSED
        assert await uow.jobs.unfinished(now=later + timedelta(days=1)) == []
        missing = await uow.jobs.claim("nope", now=NOW, lease_until=LEASE, max_attempts=3)
        assert missing.outcome is ClaimOutcome.GONE and missing.job is None
        await uow.commit()


async def test_a_job_that_kills_its_worker_every_time_fails_as_worker_crashed(
    database: Database,
) -> None:
    j = (await seed_job(database)).job
    now = NOW
    async with database.unit_of_work() as uow:
        for attempt in (1, 2, 3):
            got = await uow.jobs.claim(j.id, now=now, lease_until=now + LEASE_LENGTH,
                                       max_attempts=3)  # fmt: skip
            assert got.outcome is ClaimOutcome.CLAIMED and got.job and got.job.attempts == attempt
            now += LEASE_LENGTH * 2  # the worker died: nobody renewed
        crashed = await uow.jobs.claim(j.id, now=now, lease_until=now + LEASE_LENGTH,
                                       max_attempts=3)  # fmt: skip
        assert crashed.outcome is ClaimOutcome.CRASHED
        assert crashed.job is not None and crashed.job.status is JobStatus.FAILED
        assert crashed.job.code == "worker_crashed" and crashed.job.attempts == 3
        assert crashed.job.finished_at == now and crashed.job.lease_until is None
        assert await uow.jobs.unfinished(now=now + timedelta(days=1)) == []
        await uow.commit()


async def test_failure_codes_and_expired_leases(database: Database) -> None:
    j = (await seed_job(database)).job
    async with database.unit_of_work() as uow:
        await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
        # a process that ran jobs in itself restarts: leases of jobs started before it end
        assert await uow.jobs.expire_leases(started_before=NOW) == 0
        assert await uow.jobs.expire_leases(started_before=NOW + timedelta(seconds=1)) == 1
        assert await uow.jobs.unfinished(now=NOW + timedelta(seconds=2)) == [j.id]
        await uow.jobs.finish(
            j.id, JobStatus.FAILED, now=NOW, error="Too big.", code="output_too_large"
        )
        failed = await uow.jobs.get(j.id)
        assert failed is not None and failed.code == "output_too_large"
        assert failed.error == "Too big." and failed.finished_at == NOW
        assert failed.lease_until is None and failed.status is JobStatus.FAILED
        # only jobs being processed have leases to end
        assert await uow.jobs.expire_leases(started_before=NOW + timedelta(days=1)) == 0
        await uow.commit()


async def test_a_requeued_job_waits_with_its_reason_and_its_attempts(database: Database) -> None:
    j = (await seed_job(database)).job
    async with database.unit_of_work() as uow:
        await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
        await uow.jobs.requeue(j.id, "Object storage is unavailable.")
        await uow.commit()
    async with database.unit_of_work() as uow:
        waiting = await uow.jobs.get(j.id)
        assert waiting is not None and waiting.status is JobStatus.QUEUED
        assert waiting.attempts == 1 and waiting.error == "Object storage is unavailable."
        assert waiting.lease_until is None and waiting.started_at is None
        assert await uow.jobs.unfinished(now=NOW) == [j.id]  # published again by a sweep
        again = await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
        assert again.outcome is ClaimOutcome.CLAIMED and again.job and again.job.attempts == 2
        await uow.jobs.finish(j.id, JobStatus.PROCESSED, now=LEASE)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        done = await uow.jobs.get(j.id)
    assert done is not None and done.error is None and done.code is None
    assert done.finished_at == LEASE and done.attempts == 2


async def test_counted_by_status_and_unfinished_oldest_first(database: Database) -> None:
    seeded = await seed_job(database)
    later = job(seeded.variant, seeded.user, minutes=5)
    earlier = job(seeded.variant, seeded.user, minutes=-5)
    finished = job(seeded.variant, seeded.user, minutes=1)
    async with database.unit_of_work() as uow:
        assert await uow.jobs.count_by_status() == {
            JobStatus.QUEUED: 1,
            JobStatus.PROCESSING: 0,
            JobStatus.PROCESSED: 0,
            JobStatus.FAILED: 0,
        }
        for added in (later, earlier, finished):
            await uow.jobs.add(added)
        await uow.jobs.claim(seeded.job.id, now=NOW, lease_until=LEASE, max_attempts=3)
        await uow.jobs.finish(finished.id, JobStatus.FAILED, now=NOW, error="x", code="y")
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        counts = await uow.jobs.count_by_status()
        live = await uow.jobs.unfinished(now=NOW)
        lapsed = await uow.jobs.unfinished(now=LEASE + timedelta(seconds=1))
    assert counts == {
        JobStatus.QUEUED: 2,
        JobStatus.PROCESSING: 1,
        JobStatus.PROCESSED: 0,
        JobStatus.FAILED: 1,
    }
    assert live == [earlier.id, later.id]
    assert lapsed == [earlier.id, seeded.job.id, later.id]
