"""Running jobs: retries with back-off when a dependency is down, failure with a code when the
attempts run out, and leases that keep a job to one worker until its worker dies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pixelpress.domain.errors import Unavailable, Unprocessable
from pixelpress.domain.models import (
    ClaimOutcome,
    Job,
    JobStatus,
    LogFilter,
    LogLevel,
    NotificationStatus,
    Page,
    User,
    Variant,
    VariantStatus,
)
from pixelpress.domain.spec import parse_spec
from pixelpress.usecases.jobs import republish_unfinished, run_job
from pixelpress.usecases.transforms import request_transform
from tests.fakes import Waiting, read_fake
from tests.unit.usecases.conftest import World

ROTATE = {"rotate": 90, "format": "png"}
STORAGE_DOWN = "Object storage is unavailable."


def storage_down() -> Unavailable:
    return Unavailable(STORAGE_DOWN, dependency="storage")


async def queued_job(world: World, owner: User, spec: dict[str, Any] = ROTATE) -> str:
    """A job asked for on a new image of `owner`'s, taken off the queue as a worker would."""
    image = await world.image(owner)
    queued = await request_transform(
        image.id,
        parse_spec(spec),
        user=owner,
        db=world.db,
        queue=world.jobs,
        clock=world.clock,
        limits=world.limits,
    )
    assert queued.job is not None
    assert world.jobs.take_due() == [queued.job.id]
    return queued.job.id


async def state(world: World, job_id: str) -> tuple[Job, Variant]:
    async with world.db.unit_of_work(readonly=True) as uow:
        job = await uow.jobs.get(job_id)
        assert job is not None
        variant = await uow.variants.get(job.variant_id)
    assert variant is not None
    return job, variant


async def test_a_dependency_down_requeues_the_job_after_its_back_off(world: World) -> None:
    alice = await world.user()
    job_id = await queued_job(world, alice)
    runner = world.runner(max_attempts=3, retry_base_seconds=2)
    world.processor.fail_next(storage_down())

    assert await run_job(job_id, runner=runner) is JobStatus.QUEUED
    job, variant = await state(world, job_id)
    assert (job.status, job.attempts, job.error) == (JobStatus.QUEUED, 1, STORAGE_DOWN)
    assert job.lease_until is None and variant.status is VariantStatus.PENDING
    assert world.jobs.waiting == [Waiting(job_id, world.clock.now() + timedelta(seconds=2))]
    world.clock.advance(1.9)
    assert world.jobs.take_due() == []  # not before its back-off
    world.clock.advance(0.1)
    assert world.jobs.take_due() == [job_id]

    assert await run_job(job_id, runner=runner) is JobStatus.PROCESSED
    job, variant = await state(world, job_id)
    assert (job.status, job.attempts, job.error, job.code) == (JobStatus.PROCESSED, 2, None, None)
    assert variant.status is VariantStatus.READY
    data = await world.storage.get(variant.storage_key)
    stored = read_fake(data)
    assert (stored.width, stored.height, stored.format) == (600, 800, "png")
    assert (variant.width, variant.height, variant.size) == (600, 800, len(data))
    assert world.jobs.waiting == [] and world.jobs.dead == {}


async def test_back_off_doubles_and_the_last_attempt_fails_with_its_code(world: World) -> None:
    alice = await world.user(notify_email=True)
    job_id = await queued_job(world, alice)
    runner = world.runner(max_attempts=3, retry_base_seconds=2)
    world.processor.fail_next(storage_down(), times=3)

    for attempt, back_off in ((1, 2), (2, 4)):
        assert await run_job(job_id, runner=runner) is JobStatus.QUEUED
        job, _ = await state(world, job_id)
        assert job.attempts == attempt
        due = world.clock.now() + timedelta(seconds=back_off)
        assert world.jobs.waiting == [Waiting(job_id, due)]
        world.clock.advance(back_off)
        assert world.jobs.take_due() == [job_id]

    assert await run_job(job_id, runner=runner) is JobStatus.FAILED
    job, variant = await state(world, job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    assert (job.code, job.error) == ("service_unavailable", STORAGE_DOWN)
    assert job.finished_at == world.clock.now()
    assert variant.status is VariantStatus.FAILED
    assert world.jobs.waiting == []  # never tried again
    assert world.jobs.dead == {job_id: STORAGE_DOWN}
    async with world.db.unit_of_work(readonly=True) as uow:
        logged = await uow.logs.list_page(LogFilter(alice.id, LogLevel.ERROR), Page(1, 10))
        told = await uow.notifications.list_page(alice.id, Page(1, 10))
    assert [entry.context for entry in logged.items] == [
        {"jobId": job_id, "attempts": 3, "code": "service_unavailable"}
    ]
    assert [(n.event, n.status) for n in told.items] == [("job.failed", NotificationStatus.PENDING)]
    assert [w.item_id for w in world.notices.waiting] == [told.items[0].id]  # handed on


async def test_a_job_s_own_failure_is_final_at_once(world: World) -> None:
    alice = await world.user()
    job_id = await queued_job(world, alice)
    runner = world.runner(max_attempts=3)
    world.processor.fail_next(Unprocessable("Too big.", code="output_too_large"))
    assert await run_job(job_id, runner=runner) is JobStatus.FAILED
    job, variant = await state(world, job_id)
    assert (job.status, job.attempts, job.code) == (JobStatus.FAILED, 1, "output_too_large")
    assert variant.status is VariantStatus.FAILED
    assert world.jobs.waiting == [] and list(world.jobs.dead) == [job_id]
    assert await run_job(job_id, runner=runner) is None  # a finished job is never run again
    assert len(world.processor.rendered) == 1


async def claimed_elsewhere(world: World, job_id: str, *, lease: float = 60) -> ClaimOutcome:
    """Another worker takes the job (and may die with it): its claim, as the repository makes
    it."""
    now = world.clock.now()
    async with world.db.unit_of_work() as uow:
        claim = await uow.jobs.claim(
            job_id, now=now, lease_until=now + timedelta(seconds=lease), max_attempts=3
        )
        await uow.commit()
    return claim.outcome


async def test_a_live_lease_is_busy_and_looked_at_again_when_it_ends(world: World) -> None:
    alice = await world.user()
    job_id = await queued_job(world, alice)
    runner = world.runner(lease_seconds=60, max_attempts=3)
    assert await claimed_elsewhere(world, job_id, lease=60) is ClaimOutcome.CLAIMED

    assert await run_job(job_id, runner=runner) is None  # BUSY: not run here
    job, _ = await state(world, job_id)
    assert (job.status, job.attempts) == (JobStatus.PROCESSING, 1)
    assert world.processor.rendered == []
    # published again for just after the other worker's lease ends
    assert world.jobs.waiting == [Waiting(job_id, world.clock.now() + timedelta(seconds=61))]
    assert await republish_unfinished(runner=runner) == 0  # the sweep leaves it alone too


async def test_a_lapsed_lease_is_claimed_again(world: World) -> None:
    alice = await world.user()
    job_id = await queued_job(world, alice)
    runner = world.runner(lease_seconds=60, max_attempts=3)
    assert await claimed_elsewhere(world, job_id, lease=60) is ClaimOutcome.CLAIMED
    world.clock.advance(61)  # that worker died: nobody renewed its lease

    assert await republish_unfinished(runner=runner) == 1  # the sweep finds it
    assert world.jobs.take_due() == [job_id]
    assert await run_job(job_id, runner=runner) is JobStatus.PROCESSED
    job, variant = await state(world, job_id)
    assert (job.status, job.attempts) == (JobStatus.PROCESSED, 2)
    assert variant.status is VariantStatus.READY
    assert len(world.processor.rendered) == 1


async def test_the_last_claim_of_a_job_that_never_finished_ends_worker_crashed(
    world: World,
) -> None:
    alice = await world.user()
    job_id = await queued_job(world, alice)
    runner = world.runner(lease_seconds=60, max_attempts=3)
    for _ in range(3):  # three workers took it, and each died with it
        assert await claimed_elsewhere(world, job_id, lease=60) is ClaimOutcome.CLAIMED
        world.clock.advance(61)

    assert await run_job(job_id, runner=runner) is JobStatus.FAILED
    job, variant = await state(world, job_id)
    assert (job.status, job.code, job.attempts) == (JobStatus.FAILED, "worker_crashed", 3)
    assert variant.status is VariantStatus.FAILED
    assert world.processor.rendered == []  # it was not run a fourth time
    assert list(world.jobs.dead) == [job_id] and world.jobs.waiting == []
    assert await republish_unfinished(runner=runner) == 0
    assert await run_job(job_id, runner=runner) is None


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Waits for something to happen (never for something not to)."""
    deadline = asyncio.get_running_loop().time() + 5
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_running_job_renews_its_lease_and_stays_its_worker_s(world: World) -> None:
    alice = await world.user()
    job_id = await queued_job(world, alice)
    runner = world.runner(lease_seconds=0.3)  # a heartbeat every 0.1 s of real time
    world.processor.gate = asyncio.Event()
    running = asyncio.create_task(run_job(job_id, runner=runner))

    async def rendering() -> bool:
        return bool(world.processor.rendered)

    async def renewed() -> bool:
        lease = (await state(world, job_id))[0].lease_until
        return lease is not None and lease > world.clock.now()

    try:
        await eventually(rendering, "the render to start")
        world.clock.advance(10)  # far past the lease it was claimed with
        await eventually(renewed, "the heartbeat to renew the lease from now")
        assert await run_job(job_id, runner=runner) is None  # another delivery: BUSY
        world.processor.gate.set()
        assert await running is JobStatus.PROCESSED
    finally:
        world.processor.gate.set()
        await asyncio.gather(running, return_exceptions=True)
    job, _ = await state(world, job_id)
    assert (job.status, job.attempts) == (JobStatus.PROCESSED, 1)
    assert len(world.processor.rendered) == 1
