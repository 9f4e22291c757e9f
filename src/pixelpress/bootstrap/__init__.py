"""The composition root: Settings -> Services. The one place that picks and builds adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlsplit

import anyio

from pixelpress.adapters.metrics_prometheus import MeteredCache, MeteredProcessor, Metrics
from pixelpress.adapters.passwords_pwdlib import PwdlibPasswordHasher
from pixelpress.adapters.sql.database import SqlDatabase
from pixelpress.adapters.sql.migrate import upgrade
from pixelpress.adapters.tokens_jwt import JwtTokenService
from pixelpress.adapters.vips.processor import VipsImageProcessor
from pixelpress.adapters.webhook_httpx import HttpxWebhookSender
from pixelpress.bootstrap.table import (
    ADAPTERS,
    IN_PROCESS,
    Inputs,
    QueueSpec,
    build_cache,
    build_database,
    build_email,
    build_queue,
    build_rate_limiter,
    build_storage,
    pick,
)
from pixelpress.domain import signing
from pixelpress.domain.clock import SystemClock
from pixelpress.ports import (
    Cache,
    Clock,
    DownloadLinks,
    ImageProcessor,
    ObjectStorage,
    RateLimiter,
    TaskQueue,
)
from pixelpress.settings import Settings
from pixelpress.usecases.accounts import SessionTtl
from pixelpress.usecases.admission import RenderGate
from pixelpress.usecases.delivery import Deliverer
from pixelpress.usecases.jobs import JobRunner, republish_unfinished, run_job
from pixelpress.usecases.notifications import Notifier, notify
from pixelpress.usecases.records import RecordCache
from pixelpress.usecases.signed_urls import UrlKeys

log = logging.getLogger(__name__)

__all__ = [
    "ADAPTERS",
    "ProcessRole",
    "Services",
    "build_cache",
    "build_database",
    "build_email",
    "build_queue",
    "build_rate_limiter",
    "build_services",
    "build_storage",
    "pick",
]

JOB_TASK = "pixelpress.run_job"
NOTIFY_TASK = "pixelpress.notify"


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: SqlDatabase
    storage: ObjectStorage
    queue: TaskQueue
    """Image jobs."""
    notices: TaskQueue
    """Notifications, on slots of their own."""
    cache: Cache
    rate_limiter: RateLimiter
    processor: ImageProcessor
    hasher: PwdlibPasswordHasher
    tokens: JwtTokenService
    links: DownloadLinks
    url_keys: UrlKeys
    deliverer: Deliverer
    runner: JobRunner
    notifier: Notifier
    session_ttl: SessionTtl
    metrics: Metrics
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    async def run_job(self, job_id: str) -> None:
        started = time.perf_counter()
        outcome = await run_job(job_id, runner=self.runner)
        if outcome is not None:
            self.metrics.job_seconds.labels(outcome=str(outcome)).observe(
                time.perf_counter() - started
            )

    async def notify(self, notification_id: str) -> None:
        await notify(notification_id, notifier=self.notifier)


async def _sweep(services: Services) -> None:
    """Publishes lost or abandoned jobs again, for as long as the process lives."""
    while True:
        await asyncio.sleep(services.settings.job_sweep_seconds)
        try:
            await republish_unfinished(runner=services.runner)
        except Exception:  # a sweep that fails now will run again next time
            log.exception("job sweep failed")


class ProcessRole(StrEnum):
    API = "api"
    """Serves HTTP; runs jobs too when the queue is in-process."""
    WORKER = "worker"
    """Consumes the queue."""
    CLI = "cli"
    """Neither: a one-off command."""


@contextlib.asynccontextmanager
async def build_services(
    settings: Settings,
    *,
    role: ProcessRole = ProcessRole.API,
    clock: Clock | None = None,
    concurrency: int | None = None,
    migrate: bool = True,
) -> AsyncIterator[Services]:
    """Builds every adapter from settings, runs migrations, starts the queue (consuming it when
    this process runs jobs), and recovers unfinished jobs. Closes everything on exit."""
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = settings.resolved_secret_key()
    threads = concurrency or settings.cpu_threads
    cpu = anyio.CapacityLimiter(threads)
    db = build_database(settings.resolved_database_url())
    storage, links = build_storage(settings.resolved_storage_url(), Inputs(settings, secret, clock))
    queue = build_queue(
        settings.queue_url, QueueSpec(settings.queue_name, JOB_TASK, threads), settings
    )
    notices = build_queue(
        settings.queue_url,
        QueueSpec(settings.notify_queue_name, NOTIFY_TASK, settings.notify_concurrency),
        settings,
    )
    in_process = urlsplit(settings.queue_url).scheme == IN_PROCESS
    consume = role is ProcessRole.WORKER or (role is ProcessRole.API and in_process)
    metrics = Metrics()
    cache = MeteredCache(build_cache(settings.cache_url, settings.cache_prefix), metrics)
    processor = MeteredProcessor(VipsImageProcessor(settings.limits, threads=threads), metrics)
    runner = JobRunner(
        db=db,
        storage=storage,
        processor=processor,
        clock=clock,
        queue=queue,
        notices=notices,
        lease_seconds=settings.job_lease_seconds,
        max_attempts=settings.job_max_attempts,
        retry_base_seconds=settings.job_retry_base_seconds,
        orphaned_before=clock.now() if in_process else None,
    )
    services = Services(
        settings=settings,
        clock=clock,
        db=db,
        storage=storage,
        queue=queue,
        notices=notices,
        cache=cache,
        rate_limiter=build_rate_limiter(
            settings.ratelimit_url or settings.cache_url, settings.cache_prefix
        ),
        processor=processor,
        hasher=PwdlibPasswordHasher(cpu),
        tokens=JwtTokenService(
            secret,
            clock,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_ttl=timedelta(minutes=settings.access_token_minutes),
            refresh_ttl=timedelta(days=settings.refresh_token_days),
        ),
        links=links,
        url_keys=UrlKeys(
            tuple(settings.url_signing_keys or [signing.sign(secret, "url-signing-key", 0)])
        ),
        deliverer=Deliverer(
            db=db,
            storage=storage,
            cache=cache,
            records=RecordCache(cache, inline_bytes=settings.delivery_inline_bytes),
            processor=processor,
            clock=clock,
            limits=settings.limits,
            gate=RenderGate(
                slots=settings.render_concurrency, wait_seconds=settings.render_wait_seconds
            ),
        ),
        runner=runner,
        notifier=Notifier(
            db=db,
            queue=notices,
            email=build_email(settings.smtp_url, settings),
            webhooks=HttpxWebhookSender(
                timeout=settings.webhook_timeout_seconds,
                allow_loopback=settings.webhook_allow_loopback,
                ports=settings.webhook_ports,
            ),
            clock=clock,
            max_attempts=settings.notification_max_attempts,
            retry_base_seconds=settings.notification_retry_base_seconds,
        ),
        session_ttl=SessionTtl(
            normal=timedelta(days=settings.refresh_token_days),
            remember_me=timedelta(days=settings.remember_me_days),
        ),
        metrics=metrics,
    )
    try:
        if migrate:
            await upgrade(db.engine)
        await queue.start(services.run_job if consume else None)
        await notices.start(services.notify if consume else None)
        if consume:
            await republish_unfinished(runner=runner)
            services._background.append(asyncio.create_task(_sweep(services)))
        yield services
    finally:
        for task in services._background:
            task.cancel()
        for started in (queue, notices):
            with contextlib.suppress(Exception):
                await started.stop()
        await cache.close()
        await db.close()
