"""`pixelpress worker`: consumes the job queue and runs the same use cases as the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from pixelpress.bootstrap import ProcessRole, build_services
from pixelpress.domain.redact import redact_url
from pixelpress.settings import Settings

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, *, concurrency: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with build_services(settings, role=ProcessRole.WORKER, concurrency=concurrency):
        queue = redact_url(settings.queue_url)
        log.info("worker consuming %s with concurrency %d", queue, concurrency)
        await stop.wait()
        log.info("worker stopping: finishing jobs in flight")
