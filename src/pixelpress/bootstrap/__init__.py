"""The composition root: Settings -> Services. The one place that picks adapters (from the
table in `bootstrap.table`) and builds them, and the one place that reads Settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio

from pixelpress.adapters.cache_invalidating import InvalidatingCache
from pixelpress.adapters.faces_haar import HaarFaceDetector
from pixelpress.adapters.metered import MeteredCache, MeteredProcessor
from pixelpress.adapters.metrics_prometheus import PrometheusMetrics
from pixelpress.adapters.passwords_pwdlib import PwdlibPasswordHasher
from pixelpress.adapters.tokens_jwt import JwtTokenService
from pixelpress.adapters.vips.processor import VipsImageProcessor
from pixelpress.adapters.webhook_httpx import HttpxWebhookSender
from pixelpress.api.config import ApiConfig, Buckets
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
from pixelpress.ports import Clock, TaskQueue
from pixelpress.runtime import running
from pixelpress.services import Services
from pixelpress.settings import Settings
from pixelpress.usecases.accounts import SessionTtl
from pixelpress.usecases.admission import RenderGate
from pixelpress.usecases.delivery import Deliverer
from pixelpress.usecases.faces import FaceFinder
from pixelpress.usecases.hot import HotEntries
from pixelpress.usecases.jobs import JobRunner
from pixelpress.usecases.notifications import Notifier
from pixelpress.usecases.records import Delivered, RecordCache
from pixelpress.usecases.signed_urls import UrlKeys

if TYPE_CHECKING:
    from pixelpress.adapters.sql.database import SqlDatabase

__all__ = [
    "ADAPTERS",
    "Inputs",
    "ProcessRole",
    "QueueSpec",
    "Services",
    "api_config",
    "build_cache",
    "build_database",
    "build_email",
    "build_queue",
    "build_rate_limiter",
    "build_services",
    "build_storage",
    "migrate",
    "pick",
]

JOB_TASK = "pixelpress.run_job"
NOTIFY_TASK = "pixelpress.notify"


class ProcessRole(StrEnum):
    API = "api"
    """Serves HTTP; runs jobs too when the queue is in-process."""
    WORKER = "worker"
    """Consumes the queue."""
    CLI = "cli"
    """Neither: a one-off command."""


def api_config(settings: Settings) -> ApiConfig:
    """What the HTTP layer is told: its routes and middleware never read Settings."""
    return ApiConfig(
        limits=settings.limits,
        buckets=Buckets(
            default=settings.rate_limit_default,
            login=settings.rate_limit_login,
            upload=settings.rate_limit_upload,
            transform=settings.rate_limit_transform,
            render=settings.rate_limit_render,
            address_factor=settings.rate_limit_address_factor,
        ),
        login_attempts_per_account=settings.rate_limit_login_account,
        trusted_proxies=tuple(settings.trusted_proxies),
        public_url=settings.public_url,
        cookie_secure=settings.cookie_secure,
        metrics_token=settings.metrics_token.get_secret_value(),
    )


def _database(settings: Settings) -> SqlDatabase:
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # SQLite's file lives there
    return build_database(settings.resolved_database_url())


async def _upgrade(db: SqlDatabase) -> None:
    from pixelpress.adapters.sql.migrate import upgrade

    await upgrade(db.engine)


async def migrate(settings: Settings) -> None:
    """Brings the database the settings name to the newest schema: `pixelpress migrate`, and
    every start (`build_services` runs the same two steps on its own database)."""
    db = _database(settings)
    try:
        await _upgrade(db)
    finally:
        await db.close()


def _queues(settings: Settings, threads: int) -> tuple[TaskQueue, TaskQueue]:
    """Image jobs (one slot per CPU thread) and notifications, over the one queue URL."""
    specs = (
        QueueSpec(settings.queue_name, JOB_TASK, threads),
        QueueSpec(settings.notify_queue_name, NOTIFY_TASK, settings.notify_concurrency),
    )
    jobs, notices = (build_queue(settings.queue_url, spec, settings) for spec in specs)
    return jobs, notices


@contextlib.asynccontextmanager
async def build_services(
    settings: Settings,
    *,
    role: ProcessRole = ProcessRole.API,
    clock: Clock | None = None,
    concurrency: int | None = None,
) -> AsyncIterator[Services]:
    """Builds every adapter from settings, runs migrations and starts the queues, consuming
    them when this process runs the work (see `runtime.running`). Closes everything on exit."""
    clock = clock or SystemClock()
    threads = concurrency or settings.cpu_threads
    async with contextlib.AsyncExitStack() as stack:
        db = _database(settings)
        stack.push_async_callback(db.close)
        secret = settings.resolved_secret_key()
        storage, links = build_storage(
            settings.resolved_storage_url(), Inputs(settings, secret, clock)
        )
        queue, notices = _queues(settings, threads)
        in_process = urlsplit(settings.queue_url).scheme == IN_PROCESS
        metrics = PrometheusMetrics()
        hot: HotEntries[Delivered] = HotEntries(
            max_entries=settings.delivery_hot_entries,
            max_bytes=settings.delivery_hot_bytes,
            ttl=settings.delivery_hot_seconds,
        )
        shared = MeteredCache(build_cache(settings.cache_url, settings.cache_prefix), metrics)
        cache = InvalidatingCache(shared, hot)
        stack.push_async_callback(cache.close)
        await stack.enter_async_context(cache.watching())
        processor = MeteredProcessor(VipsImageProcessor(settings.limits, threads=threads), metrics)
        faces = FaceFinder(HaarFaceDetector(settings.limits, threads=threads), cache, storage)
        email = build_email(settings.smtp_url, settings)
        webhooks = HttpxWebhookSender(
            timeout=settings.webhook_timeout_seconds,
            allow_loopback=settings.webhook_allow_loopback,
            ports=settings.webhook_ports,
        )
        services = Services(
            clock=clock,
            db=db,
            storage=storage,
            links=links,
            queue=queue,
            notices=notices,
            cache=cache,
            rate_limiter=build_rate_limiter(
                settings.ratelimit_url or settings.cache_url, settings.cache_prefix
            ),
            processor=processor,
            hasher=PwdlibPasswordHasher(anyio.CapacityLimiter(threads)),
            tokens=JwtTokenService(
                secret,
                clock,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                access_ttl=timedelta(minutes=settings.access_token_minutes),
                refresh_ttl=timedelta(days=settings.refresh_token_days),
            ),
            email=email,
            webhooks=webhooks,
            metrics=metrics,
            url_keys=UrlKeys(
                tuple(settings.url_signing_keys or [signing.sign(secret, "url-signing-key", 0)])
            ),
            session_ttl=SessionTtl(
                normal=timedelta(days=settings.refresh_token_days),
                remember_me=timedelta(days=settings.remember_me_days),
            ),
            deliverer=Deliverer(
                db=db,
                storage=storage,
                cache=cache,
                records=RecordCache(cache, inline_bytes=settings.delivery_inline_bytes, hot=hot),
                processor=processor,
                clock=clock,
                limits=settings.limits,
                gate=RenderGate(
                    slots=settings.render_concurrency, wait_seconds=settings.render_wait_seconds
                ),
                faces=faces,
            ),
            runner=JobRunner(
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
                faces=faces,
            ),
            notifier=Notifier(
                db=db,
                queue=notices,
                email=email,
                webhooks=webhooks,
                clock=clock,
                max_attempts=settings.notification_max_attempts,
                retry_base_seconds=settings.notification_retry_base_seconds,
            ),
            api=api_config(settings),
        )
        await _upgrade(db)
        consume = role is ProcessRole.WORKER or (role is ProcessRole.API and in_process)
        await stack.enter_async_context(
            running(services, consume=consume, sweep_seconds=settings.job_sweep_seconds)
        )
        yield services
