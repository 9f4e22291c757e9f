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
from urllib.parse import urlparse

import anyio

from pixelpress.adapters.cache_memory import MemoryCache
from pixelpress.adapters.degraded import DegradedCache, DegradedRateLimiter
from pixelpress.adapters.email_outbox import OutboxEmailSender
from pixelpress.adapters.links_signed import SignedFileLinks
from pixelpress.adapters.metrics_prometheus import MeteredCache, MeteredProcessor, Metrics
from pixelpress.adapters.passwords_pwdlib import PwdlibPasswordHasher
from pixelpress.adapters.queue_inprocess import InProcessQueue
from pixelpress.adapters.ratelimit_limits import LimitsRateLimiter
from pixelpress.adapters.sql.database import SqlDatabase
from pixelpress.adapters.sql.migrate import upgrade
from pixelpress.adapters.storage_obstore import ObstoreStorage, PresignedLinks, S3Options
from pixelpress.adapters.tokens_jwt import JwtTokenService
from pixelpress.adapters.vips.processor import VipsImageProcessor
from pixelpress.adapters.webhook_httpx import HttpxWebhookSender
from pixelpress.domain import signing
from pixelpress.domain.clock import SystemClock
from pixelpress.ports import (
    Cache,
    Clock,
    DownloadLinks,
    EmailSender,
    ImageProcessor,
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

CACHE_SCHEMES = ("memory", "redis", "rediss")
QUEUE_SCHEMES = ("memory", "amqp", "amqps", "kafka", "kafkas")
JOB_TASK = "pixelpress.run_job"
NOTIFY_TASK = "pixelpress.notify"


def build_email(settings: Settings) -> EmailSender:
    if not settings.smtp_url:
        return OutboxEmailSender(settings.data_dir / "outbox", sender=settings.mail_from)
    from pixelpress.adapters.email_smtp import SmtpEmailSender

    return SmtpEmailSender(settings.smtp_url, sender=settings.mail_from)


def build_cache(url: str, prefix: str) -> Cache:
    scheme = urlparse(url).scheme
    if scheme == "memory":
        return MemoryCache()
    if scheme in ("redis", "rediss"):
        from pixelpress.adapters.cache_redis import RedisCache  # only when selected

        return DegradedCache(RedisCache(url, prefix=prefix))
    raise ValueError(
        f"Unsupported cache URL scheme {scheme!r}; use one of: {', '.join(CACHE_SCHEMES)}"
    )


def build_links(
    storage: ObstoreStorage, settings: Settings, secret: str, clock: Clock
) -> DownloadLinks:
    """Presigned by the store when it can sign (S3), else links of our own (`/files/...`)."""
    ttl = settings.download_url_seconds
    if storage.can_sign:
        return PresignedLinks(storage, ttl=ttl, now=clock.now)
    return SignedFileLinks(secret, ttl=ttl, now=clock.now)


def build_rate_limiter(url: str, prefix: str) -> RateLimiter:
    limiter = LimitsRateLimiter(url, prefix=prefix)
    if urlparse(url).scheme == "memory":
        return limiter
    return DegradedRateLimiter(limiter, LimitsRateLimiter("memory://"))


def build_queue(
    url: str, *, name: str, task_name: str, concurrency: int, settings: Settings
) -> TaskQueue:
    scheme = urlparse(url).scheme
    if scheme == "memory":
        return InProcessQueue(name=name, concurrency=concurrency)
    if scheme in ("amqp", "amqps"):
        from pixelpress.adapters.queue_rabbitmq import RabbitQueue  # only when selected

        return RabbitQueue(url, name=name, task_name=task_name, concurrency=concurrency)
    if scheme in ("kafka", "kafkas"):
        from pixelpress.adapters.queue_kafka import KafkaConnection, KafkaQueue  # when selected

        connection = KafkaConnection.from_url(
            url,
            username=settings.kafka_username,
            password=settings.kafka_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            ca_file=settings.kafka_ca_file,
        )
        return KafkaQueue(
            connection,
            name=name,
            concurrency=concurrency,
            group=settings.kafka_group,
            partitions=settings.kafka_partitions,
            replication_factor=settings.kafka_replication_factor,
            session_timeout=settings.kafka_session_timeout_seconds,
        )
    raise ValueError(
        f"Unsupported queue URL scheme {scheme!r}; use one of: {', '.join(QUEUE_SCHEMES)}"
    )


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: SqlDatabase
    storage: ObstoreStorage
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
    db = SqlDatabase(settings.resolved_database_url())
    storage = ObstoreStorage.from_url(
        settings.resolved_storage_url(),
        S3Options(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        ),
    )
    queue = build_queue(
        settings.queue_url,
        name=settings.queue_name,
        task_name=JOB_TASK,
        concurrency=threads,
        settings=settings,
    )
    notices = build_queue(
        settings.queue_url,
        name=settings.notify_queue_name,
        task_name=NOTIFY_TASK,
        concurrency=settings.notify_concurrency,
        settings=settings,
    )
    in_process = isinstance(queue, InProcessQueue)
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
        links=build_links(storage, settings, secret, clock),
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
            email=build_email(settings),
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
