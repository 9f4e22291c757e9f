"""Settings alone pick the adapters, from one closed table; an unknown scheme stops the start
with the accepted list."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any, Protocol, get_type_hints
from urllib.parse import urlsplit

import pytest

from pixelpress import ports
from pixelpress.adapters.cache_memory import MemoryCache
from pixelpress.adapters.degraded import DegradedCache, DegradedRateLimiter
from pixelpress.adapters.email_outbox import OutboxEmailSender
from pixelpress.adapters.email_smtp import SmtpEmailSender
from pixelpress.adapters.links_signed import SignedFileLinks
from pixelpress.adapters.queue_inprocess import InProcessQueue
from pixelpress.adapters.queue_kafka import KafkaQueue
from pixelpress.adapters.queue_rabbitmq import RabbitQueue
from pixelpress.adapters.ratelimit_limits import LimitsRateLimiter
from pixelpress.adapters.sql.database import SqlDatabase
from pixelpress.adapters.storage_obstore import ObstoreStorage, PresignedLinks
from pixelpress.api.config import ApiConfig
from pixelpress.bootstrap import (
    ADAPTERS,
    Inputs,
    QueueSpec,
    build_cache,
    build_database,
    build_email,
    build_queue,
    build_rate_limiter,
    build_services,
    build_storage,
    migrate,
)
from pixelpress.domain.clock import SystemClock
from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Email
from pixelpress.services import Services
from pixelpress.settings import Settings
from pixelpress.usecases.accounts import SessionTtl
from pixelpress.usecases.delivery import Deliverer
from pixelpress.usecases.jobs import JobRunner
from pixelpress.usecases.notifications import Notifier
from pixelpress.usecases.signed_urls import UrlKeys
from tests import receivers
from tests import services as test_services
from tests.conftest import make_settings

# (port, scheme) -> a URL of that scheme and what it builds: the table holds exactly these.
EXPECTED: dict[tuple[str, str], tuple[str, tuple[type, ...]]] = {
    ("database", "sqlite"): ("sqlite:///{tmp}/p.db", (SqlDatabase,)),
    ("database", "postgresql"): ("postgresql://u:p@db/x", (SqlDatabase,)),
    ("database", "postgres"): ("postgres://u:p@db/x", (SqlDatabase,)),
    ("storage", "file"): ("file://{tmp}/blobs", (ObstoreStorage, SignedFileLinks)),
    ("storage", "memory"): ("memory://", (ObstoreStorage, SignedFileLinks)),
    ("storage", "s3"): ("s3://bucket/prefix", (ObstoreStorage, PresignedLinks)),
    ("queue", "memory"): ("memory://", (InProcessQueue,)),
    ("queue", "amqp"): ("amqp://guest:guest@127.0.0.1:5672/", (RabbitQueue,)),
    ("queue", "amqps"): ("amqps://guest:guest@127.0.0.1:5671/", (RabbitQueue,)),
    ("queue", "kafka"): ("kafka://k1:9092", (KafkaQueue,)),
    ("queue", "kafkas"): ("kafkas://k1:9093", (KafkaQueue,)),
    ("cache", "memory"): ("memory://", (MemoryCache,)),
    ("cache", "redis"): ("redis://127.0.0.1:6379/0", (DegradedCache,)),
    ("cache", "rediss"): ("rediss://127.0.0.1:6380/0", (DegradedCache,)),
    ("rate_limits", "memory"): ("memory://", (LimitsRateLimiter,)),
    ("rate_limits", "redis"): ("redis://127.0.0.1:6379/0", (DegradedRateLimiter,)),
    ("rate_limits", "rediss"): ("rediss://127.0.0.1:6380/0", (DegradedRateLimiter,)),
    ("email", "outbox"): ("", (OutboxEmailSender,)),
    ("email", "smtp"): ("smtp://u:p%40ss@mail:587", (SmtpEmailSender,)),
    ("email", "smtps"): ("smtps://mail", (SmtpEmailSender,)),
}


def table() -> Iterator[tuple[str, str]]:
    for port, choices in vars(ADAPTERS).items():
        for scheme in choices:
            yield port, scheme


def build(port: str, url: str, settings: Settings) -> tuple[Any, ...]:
    """What the root builds for `url` as `port`, without connecting to anything."""
    if port == "database":
        return (build_database(url),)
    if port == "storage":
        inputs = Inputs(settings, "secret", SystemClock())
        return build_storage(url, inputs)
    if port == "queue":
        return (build_queue(url, QueueSpec("q", "task", 1), settings),)
    if port == "cache":
        return (build_cache(url, "p"),)
    if port == "rate_limits":
        return (build_rate_limiter(url, "p"),)
    assert port == "email"
    return (build_email(url, settings),)


def test_the_table_holds_every_scheme_and_nothing_else() -> None:
    assert sorted(table()) == sorted(EXPECTED)
    with pytest.raises(TypeError):  # closed: nothing is added at run time
        ADAPTERS.cache["memcached"] = ADAPTERS.cache["memory"]  # type: ignore[index]


@pytest.mark.parametrize(("port", "scheme"), sorted(EXPECTED))
async def test_every_scheme_builds_the_adapter_it_names(
    port: str, scheme: str, settings: Settings, tmp_path: Path
) -> None:
    url, expected = EXPECTED[port, scheme]
    built = build(port, url.format(tmp=tmp_path), settings)
    assert tuple(type(part) for part in built) == expected
    if isinstance(built[0], SqlDatabase):
        await built[0].close()
    if isinstance(built[0], DegradedCache):
        await built[0].close()


async def test_database_urls_as_operators_write_them_get_our_async_driver(
    tmp_path: Path,
) -> None:
    for url, expected in [
        ("postgresql://u:p@db:5432/x", "postgresql+asyncpg://u:p@db:5432/x"),
        ("postgres://u:p@db/x", "postgresql+asyncpg://u:p@db/x"),
        ("postgres+asyncpg://u:p@db/x", "postgresql+asyncpg://u:p@db/x"),
        (f"sqlite:///{tmp_path}/p.db", f"sqlite+aiosqlite:///{tmp_path}/p.db"),
    ]:
        db = build_database(url)
        assert db.engine.url.render_as_string(hide_password=False) == expected
        await db.close()


def test_s3_urls_are_parsed_at_the_root(settings: Settings) -> None:
    s3, _ = build_storage("s3://bucket/some/prefix/", Inputs(settings, "k", SystemClock()))
    assert isinstance(s3, ObstoreStorage)
    assert s3.store.prefix == "some/prefix"
    with pytest.raises(ValueError, match="names its bucket"):
        build_storage("s3:///prefix", Inputs(settings, "k", SystemClock()))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtp_urls_are_parsed_at_the_root(settings: Settings) -> None:
    """Host, port and the credentials (escaped in the URL) reach a server that wants them."""
    server = receivers.smtp_server(login=("ada", "p@ss:word"))
    url, inbox = next(server)
    port = urlsplit(url).port
    try:
        email = Email("bob@example.com", "Hi", "Hello.", "n1")
        await build_email(f"smtp://ada:p%40ss%3Aword@127.0.0.1:{port}", settings).send(email)
        assert [m["Message-ID"] for m in inbox.messages] == ["<n1@pixelpress>"]
        with pytest.raises(Unavailable):
            await build_email(f"smtp://ada:wrong@127.0.0.1:{port}", settings).send(email)
        assert len(inbox.messages) == 1
    finally:
        server.close()


@pytest.mark.parametrize(
    ("build_one", "allowed"),
    [
        (lambda s: build_database("mysql://u@db/x"), "sqlite, postgresql, postgres"),
        (lambda s: build_storage("ftp://x/y", Inputs(s, "k", SystemClock())), "file, memory, s3"),
        (
            lambda s: build_queue("nats://x", QueueSpec("q", "t", 1), s),
            "memory, amqp, amqps, kafka, kafkas",
        ),
        (lambda s: build_cache("memcached://x", "p"), "memory, redis, rediss"),
        (lambda s: build_rate_limiter("memcached://x", "p"), "memory, redis, rediss"),
        (lambda s: build_email("pop3://mail", s), "outbox, smtp, smtps"),
    ],
)
def test_an_unknown_scheme_is_refused_with_the_accepted_list(
    build_one: Any, allowed: str, settings: Settings
) -> None:
    with pytest.raises(ValueError, match=f"URL scheme .*; use one of: {allowed}$"):
        build_one(settings)


@pytest.mark.parametrize(
    ("setting", "value", "allowed"),
    [
        ("database_url", "mysql://u@db/x", "sqlite, postgresql, postgres"),
        ("storage_url", "ftp://x/y", "file, memory, s3"),
        ("queue_url", "nats://x", "memory, amqp, amqps, kafka, kafkas"),
        ("cache_url", "memcached://x", "memory, redis, rediss"),
        ("ratelimit_url", "memcached://x", "memory, redis, rediss"),
        ("smtp_url", "pop3://mail", "outbox, smtp, smtps"),
    ],
)
async def test_unknown_schemes_fail_at_start_up(
    tmp_path: Path, setting: str, value: str, allowed: str
) -> None:
    with pytest.raises(ValueError, match=allowed):
        async with build_services(make_settings(tmp_path, **{setting: value})):
            pass


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, secret_key="")
    first = settings.resolved_secret_key()
    assert len(first) >= 32
    assert make_settings(tmp_path, secret_key="").resolved_secret_key() == first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_s3_credentials_fall_back_to_the_aws_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-aws")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-aws")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.s3_access_key_id == "from-aws"
    assert settings.s3_secret_access_key == "secret-from-aws"
    monkeypatch.setenv("PIXELPRESS_S3_ACCESS_KEY_ID", "ours")
    assert Settings(_env_file=None).s3_access_key_id == "ours"  # type: ignore[call-arg]


# The use cases' configuration and the API's, beside the ports.
CONFIGURATION = {UrlKeys, SessionTtl, Deliverer, JobRunner, Notifier, ApiConfig}


def test_services_are_typed_by_ports_and_carry_no_behaviour() -> None:
    protocols = {
        value
        for value in vars(ports).values()
        if isinstance(value, type) and Protocol in value.__mro__ and value is not Protocol
    }
    hints = get_type_hints(Services)
    assert hints, "Services has fields"
    for name, hint in hints.items():
        assert hint in protocols | CONFIGURATION, f"Services.{name}: {hint!r} is not a port"
    assert {hints[f.name] for f in fields(Services)} >= {
        ports.Database,
        ports.ObjectStorage,
        ports.DownloadLinks,
        ports.TaskQueue,
        ports.Cache,
        ports.RateLimiter,
        ports.ImageProcessor,
        ports.PasswordHasher,
        ports.TokenService,
        ports.EmailSender,
        ports.WebhookSender,
        ports.Clock,
        ports.Metrics,
    }
    for config in CONFIGURATION:
        assert not config.__module__.startswith("pixelpress.adapters")
    behaviour = [name for name, value in vars(Services).items() if inspect.isfunction(value)]
    assert [name for name in behaviour if not name.startswith("__")] == []
    assert Services.__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_migrate_builds_the_database_from_the_table(backend: str, tmp_path: Path) -> None:
    """`pixelpress migrate` goes through the root: the database the settings name, as operators
    write its URL, brought to the newest schema (and again is a no-op)."""
    url = await test_services.fresh_postgres_database() if backend == "postgresql" else ""
    settings = make_settings(tmp_path, database_url=url)
    try:
        await migrate(settings)
        await migrate(settings)
        db = build_database(settings.resolved_database_url())
        try:
            async with db.unit_of_work(readonly=True) as uow:
                assert await uow.users.count() == 0
                assert set((await uow.jobs.count_by_status()).values()) == {0}
        finally:
            await db.close()
    finally:
        if url:
            await test_services.drop_postgres(url)
