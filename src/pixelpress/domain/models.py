"""Entities (dataclasses) and value objects (frozen dataclasses) of Pixelpress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

# Re-exported: many modules take these from here.
from pixelpress.domain.limits import ImageLimits as ImageLimits
from pixelpress.domain.spec.types import OutputFormat
from pixelpress.domain.work import CRASH_MESSAGE as CRASH_MESSAGE
from pixelpress.domain.work import WORKER_CRASHED as WORKER_CRASHED
from pixelpress.domain.work import Claim as Claim
from pixelpress.domain.work import ClaimOutcome as ClaimOutcome
from pixelpress.domain.work import Job as Job
from pixelpress.domain.work import JobStatus as JobStatus
from pixelpress.domain.work import Variant as Variant
from pixelpress.domain.work import VariantStatus as VariantStatus

T = TypeVar("T")


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class ImageFormat(StrEnum):
    """Formats we read. Output formats are `domain.spec.OutputFormat`."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    GIF = "gif"
    AVIF = "avif"
    TIFF = "tiff"


MEDIA_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
    "tiff": "image/tiff",
}


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class NotificationType(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class ImageInfo:
    """What a file is, read from its bytes. Width and height are as displayed (upright)."""

    format: ImageFormat
    width: int
    height: int
    frames: int = 1


@dataclass(frozen=True)
class Ingested:
    """The result of checking an upload. `cleaned` holds replacement bytes when the file had to be
    rewritten (EXIF orientation applied, GPS and other metadata stripped); None keeps the file."""

    info: ImageInfo
    cleaned: bytes | None = None


@dataclass(frozen=True)
class Rendered:
    data: bytes
    format: OutputFormat
    width: int
    height: int
    """Of one frame, for animations."""
    flattened: bool = False
    """An animated source rendered as its first frame only."""


@dataclass
class User:
    id: str
    username: str
    email: str
    password_hash: str
    role: Role
    created_at: datetime
    last_login: datetime | None = None
    disabled: bool = False
    notify_email: bool = False
    webhook_url: str | None = None
    webhook_secret: str | None = None


@dataclass
class AuthSession:
    """One login: the family of refresh tokens it produced, and the access tokens tied to it."""

    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    current_refresh_jti: str
    revoked_at: datetime | None = None
    persistent: bool = False
    """Remember-me: its cookies outlive the browser session, and keep doing so when refreshed."""


@dataclass
class Image:
    id: str
    owner_id: str
    filename: str
    format: ImageFormat
    width: int
    height: int
    size: int
    content_hash: str
    storage_key: str
    created_at: datetime
    frames: int = 1
    blurhash: str | None = None
    dominant_color: str | None = None
    """`#rrggbb`: the most common colour of a tiny thumbnail."""


@dataclass(frozen=True)
class Placeholder:
    blurhash: str
    dominant_color: str


@dataclass
class LogEntry:
    id: str
    level: LogLevel
    message: str
    timestamp: datetime
    created_at: datetime
    user_id: str | None = None
    image_id: str | None = None
    source: str = "client"
    """`client` for entries sent to POST /logs, `system` for events Pixelpress records."""
    context: dict[str, object] | None = None


@dataclass(frozen=True)
class LogFilter:
    user_id: str | None = None
    """None: every user's entries (admins)."""
    level: LogLevel | None = None
    since: datetime | None = None
    until: datetime | None = None
    image_id: str | None = None


class ImageOrder(StrEnum):
    """How a listing of images is sorted; a leading `-` is descending."""

    NEWEST = "-created_at"
    OLDEST = "created_at"
    NAME = "filename"
    NAME_DESC = "-filename"


@dataclass(frozen=True)
class ImageFilter:
    order: ImageOrder = ImageOrder.NEWEST
    filename: str | None = None
    """Only images whose filename contains this text, ignoring case (ASCII case on SQLite)."""


@dataclass
class Notification:
    id: str
    user_id: str
    type: NotificationType
    message: str
    status: NotificationStatus
    created_at: datetime
    event: str = "manual"
    """What caused it: `manual`, `job.processed` or `job.failed`."""
    image_id: str | None = None
    job_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    """When a retry is due (set when one is scheduled): a retry whose hand-off was lost is found
    again by the sweep once it is overdue."""


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True)
class PageOf(Generic[T]):
    items: list[T]
    page: Page
    total: int

    @property
    def pages(self) -> int:
        return (self.total + self.page.size - 1) // self.page.size


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
