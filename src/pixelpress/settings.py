"""The only Settings. Built by the composition root (or a test), never at import time."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pixelpress.domain.models import ImageLimits
from pixelpress.domain.redact import MASK, redact_url

# Names of secret fields (secret_key, url_signing_keys, s3_access_key_id, a future *_token),
# not of their settings (access_token_minutes).
SECRET_FIELD = re.compile(r"(password|passwd|token|keys?|key_id)$|secret")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PIXELPRESS_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Path("var")
    """Where the embedded default keeps its database, blobs and secret key."""

    database_url: str = ""
    storage_url: str = ""
    queue_url: str = "memory://"
    queue_name: str = "pixelpress.jobs"
    """The RabbitMQ queue (or Kafka topic) of image jobs; its `.delay` and `.dead` sit beside it."""
    notify_queue_name: str = "pixelpress.notifications"
    """The queue of notifications (emails, webhooks), with its own `.delay` and `.dead`."""
    notify_concurrency: int = Field(default=8, ge=1)
    """Notifications sent at once by a process that consumes them (their own slots: a slow
    receiver never holds an image job's)."""
    # Kafka (PIXELPRESS_QUEUE_URL=kafka://host1:9092,host2:9092 or kafkas:// for TLS)
    kafka_group: str = "pixelpress-workers"
    """Consumer groups are `{group}.{topic}`: one per topic, so one's rebalance pauses no other."""
    kafka_partitions: int = Field(default=12, ge=1)
    """Partitions of the topics created at start-up: the most workers that share one queue."""
    kafka_replication_factor: int = Field(default=1, ge=1)
    """Replicas of the topics created at start-up (3 on a production cluster)."""
    kafka_username: str = ""
    """SASL user, unless the URL names one."""
    kafka_password: SecretStr = SecretStr("")
    kafka_sasl_mechanism: str = "PLAIN"
    """PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (or `?mechanism=` in the URL)."""
    kafka_ca_file: str = ""
    """CA bundle for `kafkas://` brokers; empty: the system's."""
    kafka_session_timeout_seconds: float = Field(default=10, gt=0)
    """A worker silent this long is dead to its group: its partitions go to the others."""
    cache_url: str = "memory://"
    cache_prefix: str = "pixelpress"
    """Namespace of our keys in a shared Redis (cache and rate limits)."""
    ratelimit_url: str = ""
    """Empty: follow the cache (memory, or the same Redis)."""
    secret_key: str = ""
    s3_endpoint_url: str = ""
    """MinIO, R2 or any S3-compatible endpoint; empty means AWS itself."""
    s3_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("PIXELPRESS_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
    )
    s3_access_key_id: str = Field(
        default="",
        validation_alias=AliasChoices("PIXELPRESS_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
    )
    s3_secret_access_key: str = Field(
        default="",
        validation_alias=AliasChoices("PIXELPRESS_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
    )
    public_url: str = ""
    """Base URL used in links we hand out; empty means the request's own base URL."""

    # tokens
    jwt_issuer: str = "pixelpress"
    jwt_audience: str = "pixelpress-api"
    access_token_minutes: int = 30
    refresh_token_days: int = 14
    remember_me_days: int = 30
    cookie_secure: bool = False

    # delivery
    url_signing_keys: list[str] = Field(default_factory=list)
    """Keys that sign /i/ URLs (JSON list); the first signs new URLs, all are accepted, so a
    key can be rotated in. Empty: one key derived from the secret key."""
    delivery_inline_bytes: int = Field(default=64 * 1024, ge=0)
    """Rendered variants up to this size are kept in the cache with their record, so a hit
    is answered from memory (or one Redis read) without opening the stored object."""
    delivery_hot_entries: int = Field(default=2048, ge=0)
    """Records (with their bytes) each process keeps in its own memory in front of the cache,
    so a hit on a hot image costs no cache round trip; 0 turns this off."""
    delivery_hot_bytes: int = Field(default=16 * 1024 * 1024, ge=0)
    delivery_hot_seconds: float = Field(default=2.0, gt=0)
    """How long a process keeps a hot record: the most a purge made by another process can go
    unseen here if its announcement is lost (it is normally seen within milliseconds)."""

    # images
    max_upload_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_edge: int = 12_000
    max_frames: int = 100
    download_url_seconds: int = 3600

    # work
    cpu_threads: int = Field(default=2, ge=1)
    job_lease_seconds: float = Field(default=20, gt=0)
    """A running job's lease, renewed by its worker every third of it: a job whose worker died
    is taken by another once it ends."""
    job_sweep_seconds: int = 60
    job_max_attempts: int = 3
    job_retry_base_seconds: float = 2.0

    # notifications
    smtp_url: str = ""
    """`smtp://user:pass@host:587` or `smtps://…`; empty writes .eml files to <data dir>/outbox."""
    mail_from: str = "Pixelpress <noreply@pixelpress.local>"
    webhook_timeout_seconds: float = 5.0
    """One deadline for a whole attempt: resolving, connecting, sending and the answer's head."""
    webhook_ports: list[int] = Field(default_factory=lambda: [80, 443])
    """Ports webhook URLs may name (JSON list)."""
    webhook_allow_loopback: bool = False
    """For tests and local development only: lets webhooks reach 127.0.0.1 and ::1."""
    notification_max_attempts: int = 5
    notification_retry_base_seconds: float = 2.0

    # operations
    log_format: str = "json"
    """`json` (one object a line, with the request id) or `text`."""
    metrics_token: SecretStr = SecretStr("")
    """Empty: /metrics is public. Else it answers only `Authorization: Bearer <this token>`."""

    # rate limits: requests per minute
    rate_limit_default: int = 100
    rate_limit_login: int = 10
    rate_limit_transform: int = 30
    rate_limit_upload: int = 30
    rate_limit_render: int = 300
    """Signed-URL cache misses (renders) per address; cached hits are never limited."""
    rate_limit_login_account: int = 5
    """Login attempts per account, from any address (guessing one account's password)."""
    rate_limit_address_factor: int = Field(default=2, ge=1)
    """Signed-in traffic is limited per user and, beside it, per address at this many times the
    limit: many fresh accounts behind one address do not multiply its budget."""
    render_concurrency: int = Field(default=4, ge=1)
    """On-the-fly renders at once in a process; more wait up to `render_wait_seconds`, then
    answer 503 with Retry-After (cached hits keep flowing)."""
    render_wait_seconds: float = Field(default=2.0, ge=0)
    trusted_proxies: list[str] = Field(default_factory=list)

    def __repr_args__(self) -> Any:
        """What repr() and str() show: secret fields masked, passwords out of every URL, so a
        settings dump in a log or a traceback gives nothing away."""
        for name, value in super().__repr_args__():
            if name and SECRET_FIELD.search(name) and value:
                yield name, MASK
            elif isinstance(value, str):
                yield name, redact_url(value)
            else:
                yield name, value

    @property
    def limits(self) -> ImageLimits:
        return ImageLimits(
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_pixels,
            max_edge=self.max_edge,
            max_frames=self.max_frames,
        )

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'pixelpress.db'}"

    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'blobs').resolve()}"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once under the data dir and kept there."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # O_EXCL: two processes starting at once must agree on one key.
        try:
            with path.open("x") as fh:
                fh.write(key)
            path.chmod(0o600)
        except FileExistsError:
            return path.read_text().strip()
        return key
