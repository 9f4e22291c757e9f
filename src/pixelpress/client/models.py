"""What the client returns: typed, read-only models of the service's answers.

Field names are snake_case whatever the wire says (`imageId` and `image_id` both read into
`image_id`), and fields the service adds later are ignored, so a newer server does not break an
older client. These are the client's own models: nothing of the server is imported."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import AliasChoices, AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")

FINISHED = ("processed", "failed")


def _either_spelling(name: str) -> AliasChoices:
    return AliasChoices(name, to_camel(name))


class Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=_either_spelling),
    )


class User(Model):
    id: str
    username: str
    email: str
    role: str
    created_at: datetime
    last_login: datetime | None = None


class AdminUser(User):
    disabled: bool = False


class Session(Model):
    """The answer to register, login and refresh: who, and the tokens the client now holds."""

    user: User
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - a scheme name
    expires_in: int


class Variant(Model):
    id: str
    status: str
    format: str
    width: int | None = None
    height: int | None = None
    size: int | None = None
    spec: dict[str, Any]
    created_at: datetime
    flattened: bool = False


class Placeholder(Model):
    blurhash: str
    dominant_color: str


class Image(Model):
    id: str
    filename: str
    format: str
    width: int
    height: int
    frames: int = 1
    size: int
    content_hash: str
    created_at: datetime
    status: str
    url: str
    variants: list[Variant] = []
    placeholder: Placeholder | None = None


class Uploaded(Model):
    image_id: str
    image: Image
    job_id: str | None = None
    """Set when transformations were sent with the upload: the job that renders them."""
    status_url: str | None = None


class Job(Model):
    id: str
    image_id: str
    status: str
    """queued, in progress, processed or failed."""
    variant_id: str
    attempts: int = 0
    error: str | None = None
    code: str | None = None
    """Why a failed job failed, machine-readable (servers that say so)."""
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def failed(self) -> bool:
        return self.status == "failed"


class Transformed(Model):
    """A transformation requested: its variant, and its job unless the same canonical spec had
    been rendered already (`job_id` None, `variant` ready). `job` is its final state when the
    client waited for it."""

    message: str
    variant_id: str
    job_id: str | None = None
    status_url: str
    variant: Variant
    job: Job | None = None


class FaceBox(Model):
    x: int
    y: int
    width: int
    height: int


class DryRun(Model):
    width: int
    height: int
    format: str
    cached: bool
    faces: list[FaceBox] | None = None
    """Only with face gravity: the faces found, in pixels of the upright original."""


class ImageStatus(Model):
    image_id: str
    status: str
    jobs: list[Job]


class DownloadLink(Model):
    download_url: str
    expires_at: datetime


class SignedUrl(Model):
    url: str
    options: str
    expires_at: int | None = None


class SrcsetUrl(Model):
    """One candidate of a responsive set: its format, output size and signed URL."""

    format: str
    width: int
    height: int
    url: str


class Srcset(Model):
    """A responsive set: the signed URLs, a `srcset` string per format, the `sizes`, and
    ready markup (`img`: `<img srcset sizes>` in the fallback format; `picture`)."""

    urls: list[SrcsetUrl]
    srcset: dict[str, str]
    sizes: str
    img: str
    picture: str
    expires_at: int | None = None


class Preset(Model):
    """A named transformation, used as `t_{name}` in URLs (see `create_preset`)."""

    name: str
    options: str
    transformations: dict[str, Any] | None = None
    auto_format: bool = False
    spec_hash: str | None = None
    public: bool = False
    is_global: bool = Field(default=False, validation_alias="global")
    created_at: datetime
    updated_at: datetime


class Presets(Model):
    items: list[Preset]


class Rendered(Model):
    """An image rendered on the fly, with its media type and strong ETag."""

    content: bytes
    media_type: str
    etag: str | None = None


class Preferences(Model):
    email: bool
    webhook_url: str | None = None
    webhook_secret: str | None = None
    """The webhook signing secret, shown once: when a new webhook URL was set."""


class Notification(Model):
    id: str
    user_id: str
    notification_type: str
    event: str
    message: str
    status: str
    attempts: int
    last_error: str | None = None
    image_id: str | None = None
    job_id: str | None = None
    created_at: datetime
    sent_at: datetime | None = None


class LogEntry(Model):
    log_id: str
    log_level: str
    message: str
    timestamp: datetime
    user_id: str | None = None
    image_id: str | None = None
    source: str = "client"
    context: dict[str, Any] | None = None


class Stats(Model):
    users: int
    images: int
    bytes_stored: int
    jobs: dict[str, int]


class Readiness(Model):
    status: str
    checks: dict[str, str]


class Created(Model):
    """An answer that names what was made: `notificationId`, `logId`."""

    message: str
    id: str = Field(validation_alias=AliasChoices("id", "notificationId", "logId"))


class Page(Model, Generic[T]):
    items: list[T]
    page: int
    limit: int
    total: int
    pages: int

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None
