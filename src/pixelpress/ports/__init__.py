"""Every port of Pixelpress, as a Protocol in domain words. No library type crosses these.

In three modules: `persistence` (repositories, the unit of work, the database), `infrastructure`
(storage and download links, task queues, cache, rate limits) and `work` (the image processor,
notifications, passwords, tokens, the clock, metrics); every name is here too."""

from pixelpress.ports.infrastructure import (
    Cache,
    DownloadLink,
    DownloadLinks,
    Handler,
    ObjectStorage,
    RateLimiter,
    RateLimitResult,
    StoredObject,
    TaskQueue,
)
from pixelpress.ports.persistence import (
    Database,
    ImageRepository,
    JobRepository,
    LogRepository,
    NotificationRepository,
    PresetRepository,
    SessionRepository,
    UnitOfWork,
    UserRepository,
    VariantRepository,
)
from pixelpress.ports.work import (
    Clock,
    Email,
    EmailSender,
    FaceDetector,
    ImageProcessor,
    Metrics,
    PasswordHasher,
    TokenService,
    WebhookResult,
    WebhookSender,
)

__all__ = [
    "Cache",
    "Clock",
    "Database",
    "DownloadLink",
    "DownloadLinks",
    "Email",
    "EmailSender",
    "FaceDetector",
    "Handler",
    "ImageProcessor",
    "ImageRepository",
    "JobRepository",
    "LogRepository",
    "Metrics",
    "NotificationRepository",
    "ObjectStorage",
    "PasswordHasher",
    "PresetRepository",
    "RateLimitResult",
    "RateLimiter",
    "SessionRepository",
    "StoredObject",
    "TaskQueue",
    "TokenService",
    "UnitOfWork",
    "UserRepository",
    "VariantRepository",
    "WebhookResult",
    "WebhookSender",
]
