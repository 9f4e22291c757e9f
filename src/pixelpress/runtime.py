"""What a process that consumes the queues does besides serving: the handlers the queues call,
the recovery of work left unfinished, and the sweep that looks for lost work again on a timer.
The composition root (`bootstrap.build_services`) runs it for as long as the services live."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from pixelpress.services import Services
from pixelpress.usecases import jobs, notifications

log = logging.getLogger(__name__)


async def run_job(job_id: str, *, services: Services) -> None:
    """Runs one job, timing it by its outcome."""
    started = time.perf_counter()
    outcome = await jobs.run_job(job_id, runner=services.runner)
    if outcome is not None:
        services.metrics.job_ran(outcome, time.perf_counter() - started)


async def notify(notification_id: str, *, services: Services) -> None:
    await notifications.notify(notification_id, notifier=services.notifier)


async def sweep(services: Services, *, every: float) -> None:
    """Publishes lost or abandoned work again, every `every` seconds, for as long as it runs."""
    while True:
        await asyncio.sleep(every)
        try:
            await jobs.republish_unfinished(runner=services.runner)
        except Exception:  # a sweep that fails now will run again next time
            log.exception("job sweep failed")


@contextlib.asynccontextmanager
async def running(
    services: Services, *, consume: bool, sweep_seconds: float
) -> AsyncIterator[None]:
    """Starts both queues (consuming them when `consume`: then unfinished work is published again
    at once and swept for on a timer); stops them on exit."""
    sweeper: asyncio.Task[None] | None = None
    queues = (services.queue, services.notices)
    try:
        await services.queue.start(
            (lambda job_id: run_job(job_id, services=services)) if consume else None
        )
        await services.notices.start(
            (lambda notification_id: notify(notification_id, services=services))
            if consume
            else None
        )
        if consume:
            await jobs.republish_unfinished(runner=services.runner)
            sweeper = asyncio.create_task(sweep(services, every=sweep_seconds))
        yield
    finally:
        if sweeper is not None:
            sweeper.cancel()
        for queue in queues:
            with contextlib.suppress(Exception):
                await queue.stop()
