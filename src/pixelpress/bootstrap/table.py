"""The closed table of adapters: for each port, the URL schemes it accepts and a factory for
each, written here. A factory imports its adapter only when it is chosen, and hands it
configuration already parsed (a bucket and prefix, a folder, a host and port, a database URL
naming its driver), never a URL to interpret; connection URLs that a driver takes as they are
(Redis, AMQP, Kafka's brokers) pass through. `pick` chooses from the table and refuses an
unknown scheme with the list of accepted ones, so a typo stops the start, not a request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeVar
from urllib.parse import SplitResult, unquote, urlsplit

from sqlalchemy.engine import URL, make_url

from pixelpress.ports import (
    Cache,
    Clock,
    DownloadLinks,
    EmailSender,
    ObjectStorage,
    RateLimiter,
    TaskQueue,
)
from pixelpress.settings import Settings

if TYPE_CHECKING:
    from pixelpress.adapters.sql.database import SqlDatabase

IN_PROCESS = "memory"
"""The queue scheme whose consumers run inside the API process."""
OUTBOX = "outbox"
"""The email choice when no SMTP URL is set."""
F = TypeVar("F")


@dataclass(frozen=True)
class Inputs:
    """What storage factories read besides their URL: download links are made with these."""

    settings: Settings
    secret: str
    clock: Clock


@dataclass(frozen=True)
class QueueSpec:
    """One of the two queues carried over the queue URL."""

    name: str
    task_name: str
    concurrency: int


# --- the factories, one per (port, scheme) ------------------------------------------------------


def _with_driver(url: URL, backend: str, driver: str) -> URL:
    """The URL as operators write it (`postgres://`, `postgresql://`) with our async driver
    (`postgresql+asyncpg://`); a driver the URL names is kept."""
    named = url.drivername.partition("+")[2]
    return url.set(drivername=f"{backend}+{named or driver}")


def _sqlite(url: URL) -> SqlDatabase:
    from pixelpress.adapters.sql.database import SqlDatabase

    return SqlDatabase(_with_driver(url, "sqlite", "aiosqlite"))


def _postgresql(url: URL) -> SqlDatabase:
    from pixelpress.adapters.sql.database import SqlDatabase

    return SqlDatabase(_with_driver(url, "postgresql", "asyncpg"))


def _own_links(inputs: Inputs) -> DownloadLinks:
    """Links of our own (`/files/...`), for stores that cannot sign theirs."""
    from pixelpress.adapters.links_signed import SignedFileLinks

    ttl = inputs.settings.download_url_seconds
    return SignedFileLinks(inputs.secret, ttl=ttl, now=inputs.clock.now)


def _file_storage(url: SplitResult, inputs: Inputs) -> tuple[ObjectStorage, DownloadLinks]:
    from pixelpress.adapters.storage_obstore import ObstoreStorage

    return ObstoreStorage.local(Path(url.path)), _own_links(inputs)


def _memory_storage(url: SplitResult, inputs: Inputs) -> tuple[ObjectStorage, DownloadLinks]:
    from pixelpress.adapters.storage_obstore import ObstoreStorage

    return ObstoreStorage.memory(), _own_links(inputs)


def _s3_storage(url: SplitResult, inputs: Inputs) -> tuple[ObjectStorage, DownloadLinks]:
    """`s3://bucket/optional/prefix`; links presigned by S3 itself."""
    from pixelpress.adapters.storage_obstore import ObstoreStorage, PresignedLinks, S3Options

    if not url.netloc:
        raise ValueError("An S3 storage URL names its bucket: s3://bucket/optional/prefix")
    s = inputs.settings
    options = S3Options(
        endpoint_url=s.s3_endpoint_url,
        region=s.s3_region,
        access_key_id=s.s3_access_key_id,
        secret_access_key=s.s3_secret_access_key,
    )
    storage = ObstoreStorage.s3(url.netloc, url.path.strip("/"), options)
    return storage, PresignedLinks(storage, ttl=s.download_url_seconds, now=inputs.clock.now)


def _in_process_queue(url: str, spec: QueueSpec, settings: Settings) -> TaskQueue:
    from pixelpress.adapters.queue_inprocess import InProcessQueue

    return InProcessQueue(name=spec.name, concurrency=spec.concurrency)


def _rabbitmq_queue(url: str, spec: QueueSpec, settings: Settings) -> TaskQueue:
    from pixelpress.adapters.queue_rabbitmq import RabbitQueue

    return RabbitQueue(url, name=spec.name, task_name=spec.task_name, concurrency=spec.concurrency)


def _kafka_queue(url: str, spec: QueueSpec, settings: Settings) -> TaskQueue:
    from pixelpress.adapters.queue_kafka import KafkaConnection, KafkaQueue

    connection = KafkaConnection.from_url(
        url,
        username=settings.kafka_username,
        password=settings.kafka_password.get_secret_value(),
        mechanism=settings.kafka_sasl_mechanism,
        ca_file=settings.kafka_ca_file,
    )
    return KafkaQueue(
        connection,
        name=spec.name,
        concurrency=spec.concurrency,
        group=settings.kafka_group,
        partitions=settings.kafka_partitions,
        replication_factor=settings.kafka_replication_factor,
        session_timeout=settings.kafka_session_timeout_seconds,
    )


def _memory_cache(url: str, prefix: str) -> Cache:
    from pixelpress.adapters.cache_memory import MemoryCache

    return MemoryCache()


def _redis_cache(url: str, prefix: str) -> Cache:
    """Redis, with this process's memory standing in while it is down."""
    from pixelpress.adapters.cache_redis import RedisCache
    from pixelpress.adapters.degraded import DegradedCache

    return DegradedCache(RedisCache(url, prefix=prefix))


def _memory_limits(url: str, prefix: str) -> RateLimiter:
    from pixelpress.adapters.ratelimit_limits import LimitsRateLimiter

    return LimitsRateLimiter.memory()


def _redis_limits(url: str, prefix: str) -> RateLimiter:
    """Limits shared through Redis, counted per process while it is down."""
    from pixelpress.adapters.degraded import DegradedRateLimiter
    from pixelpress.adapters.ratelimit_limits import LimitsRateLimiter

    shared = LimitsRateLimiter.redis(url, prefix=prefix)
    return DegradedRateLimiter(shared, LimitsRateLimiter.memory())


def _outbox(url: SplitResult, settings: Settings) -> EmailSender:
    """Each mail an .eml file under the data folder."""
    from pixelpress.adapters.email_outbox import OutboxEmailSender

    return OutboxEmailSender(settings.data_dir / "outbox", sender=settings.mail_from)


def _smtp(url: SplitResult, settings: Settings) -> EmailSender:
    """`smtp://user:pass@host:587`: STARTTLS when the server offers it."""
    return _smtp_sender(url, settings, port=25, implicit_tls=False)


def _smtps(url: SplitResult, settings: Settings) -> EmailSender:
    """`smtps://user:pass@host:465`: TLS from the start."""
    return _smtp_sender(url, settings, port=465, implicit_tls=True)


def _smtp_sender(
    url: SplitResult, settings: Settings, *, port: int, implicit_tls: bool
) -> EmailSender:
    from pixelpress.adapters.email_smtp import SmtpEmailSender

    return SmtpEmailSender(
        host=url.hostname or "localhost",
        port=url.port or port,
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        implicit_tls=implicit_tls,
        sender=settings.mail_from,
    )


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adapters:
    """For each port, its URL schemes and the factory of each."""

    database: Mapping[str, Callable[[URL], SqlDatabase]]
    storage: Mapping[str, Callable[[SplitResult, Inputs], tuple[ObjectStorage, DownloadLinks]]]
    queue: Mapping[str, Callable[[str, QueueSpec, Settings], TaskQueue]]
    cache: Mapping[str, Callable[[str, str], Cache]]
    """(URL, key prefix) -> Cache."""
    rate_limits: Mapping[str, Callable[[str, str], RateLimiter]]
    """(URL, key prefix) -> RateLimiter."""
    email: Mapping[str, Callable[[SplitResult, Settings], EmailSender]]


def _closed(choices: dict[str, F]) -> Mapping[str, F]:
    return MappingProxyType(choices)


ADAPTERS: Final = Adapters(
    database=_closed({"sqlite": _sqlite, "postgresql": _postgresql, "postgres": _postgresql}),
    storage=_closed({"file": _file_storage, "memory": _memory_storage, "s3": _s3_storage}),
    queue=_closed(
        {
            IN_PROCESS: _in_process_queue,
            "amqp": _rabbitmq_queue,
            "amqps": _rabbitmq_queue,
            "kafka": _kafka_queue,
            "kafkas": _kafka_queue,
        }
    ),
    cache=_closed({"memory": _memory_cache, "redis": _redis_cache, "rediss": _redis_cache}),
    rate_limits=_closed(
        {"memory": _memory_limits, "redis": _redis_limits, "rediss": _redis_limits}
    ),
    email=_closed({OUTBOX: _outbox, "smtp": _smtp, "smtps": _smtps}),
)


def pick(port: str, choices: Mapping[str, F], scheme: str) -> F:
    """The factory for `scheme`, or the one error that lists what is accepted."""
    factory = choices.get(scheme)
    if factory is None:
        accepted = ", ".join(choices)
        raise ValueError(f"Unsupported {port} URL scheme {scheme!r}; use one of: {accepted}")
    return factory


def build_database(url: str) -> SqlDatabase:
    parsed = make_url(url)
    return pick("database", ADAPTERS.database, parsed.drivername.partition("+")[0])(parsed)


def build_storage(url: str, inputs: Inputs) -> tuple[ObjectStorage, DownloadLinks]:
    parsed = urlsplit(url)
    return pick("storage", ADAPTERS.storage, parsed.scheme)(parsed, inputs)


def build_queue(url: str, spec: QueueSpec, settings: Settings) -> TaskQueue:
    return pick("queue", ADAPTERS.queue, urlsplit(url).scheme)(url, spec, settings)


def build_cache(url: str, prefix: str) -> Cache:
    return pick("cache", ADAPTERS.cache, urlsplit(url).scheme)(url, prefix)


def build_rate_limiter(url: str, prefix: str) -> RateLimiter:
    return pick("rate limit", ADAPTERS.rate_limits, urlsplit(url).scheme)(url, prefix)


def build_email(url: str, settings: Settings) -> EmailSender:
    """`url` empty: the outbox."""
    parsed = urlsplit(url)
    return pick("SMTP", ADAPTERS.email, parsed.scheme or OUTBOX)(parsed, settings)
