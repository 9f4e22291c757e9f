"""Services: what one process runs on, typed by ports (and the use cases' configuration), built
by the composition root (`bootstrap.build_services`). A bundle with no behaviour of its own."""

from __future__ import annotations

from dataclasses import dataclass

from pixelpress.api.config import ApiConfig
from pixelpress.ports import (
    Cache,
    Clock,
    Database,
    DownloadLinks,
    EmailSender,
    ImageProcessor,
    Metrics,
    ObjectStorage,
    PasswordHasher,
    RateLimiter,
    TaskQueue,
    TokenService,
    WebhookSender,
)
from pixelpress.usecases.accounts import SessionTtl
from pixelpress.usecases.delivery import Deliverer
from pixelpress.usecases.jobs import JobRunner
from pixelpress.usecases.notifications import Notifier
from pixelpress.usecases.signed_urls import UrlKeys


@dataclass(frozen=True)
class Services:
    clock: Clock
    db: Database
    storage: ObjectStorage
    links: DownloadLinks
    queue: TaskQueue
    """Image jobs."""
    notices: TaskQueue
    """Notifications, on slots of their own."""
    cache: Cache
    rate_limiter: RateLimiter
    processor: ImageProcessor
    hasher: PasswordHasher
    tokens: TokenService
    email: EmailSender
    webhooks: WebhookSender
    metrics: Metrics
    url_keys: UrlKeys
    session_ttl: SessionTtl
    deliverer: Deliverer
    runner: JobRunner
    notifier: Notifier
    api: ApiConfig
    """What the HTTP layer is told (it never reads Settings)."""
