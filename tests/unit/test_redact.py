"""Credentials never reach a log line, a settings dump or an error message."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from pixelpress.api.observability import configure_logging
from pixelpress.domain.redact import redact_text, redact_url
from pixelpress.settings import Settings


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/"),
        ("postgresql+asyncpg://app:s3cr%40t@db:5432/pp", "postgresql+asyncpg://app:***@db:5432/pp"),
        ("postgresql://app:p@ss/w0rd@db/pp", "postgresql://app:***@db/pp"),  # unescaped @ and /
        ("postgresql://app:pa/ss@db/pp", "postgresql://app:***@db/pp"),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("smtps://mailer:pw@[::1]:465", "smtps://mailer:***@[::1]:465"),
        ("https://h/x?name=a.jpg&signature=abc&expires=9", "https://h/x?name=a.jpg&signature=***&expires=9"),
        ("https://b.s3/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff&X-Amz-Security-Token=tt",
         "https://b.s3/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***"),
        ("https://h/cb?password=1&token=2&api_key=3&keep=4", "https://h/cb?password=***&token=***&api_key=***&keep=4"),
        # nothing to hide: exactly as given
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("amqp://guest@rabbit/", "amqp://guest@rabbit/"),
        ("memory://", "memory://"),
        ("", ""),
        ("http://[::1:80/x?token=t", "http://[::1:80/x?token=***"),  # not a URL urllib reads
        ("http://u:pw@[::1:80/", "http://u:***@[::1:80/"),
        ("https://example.com/@me", "https://example.com/@me"),
        ("https://example.com:8443/@me", "https://example.com:***@me"),  # ambiguous: masked
    ],
)  # fmt: skip
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_finds_every_url_and_bare_query() -> None:
    text = (
        'Connecting to amqp://guest:guest@127.0.0.1:5672/, cache "redis://:pw2@r:6379/0" and '
        "GET /files/a.jpg?name=a.jpg&expires=1&signature=c2lnbmF0dXJl HTTP/1.1"
    )
    clean = redact_text(text)
    for secret in ("guest:guest", "pw2", "c2lnbmF0dXJl"):
        assert secret not in clean
    assert "amqp://guest:***@127.0.0.1:5672/," in clean
    assert "redis://:***@r:6379/0" in clean
    assert "signature=*** HTTP/1.1" in clean
    assert redact_text("nothing secret here: 3 = 3") == "nothing secret here: 3 = 3"


@pytest.fixture(params=["json", "text"])
def logged(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """The configured root handler, writing into a buffer."""
    configure_logging("debug", request.param)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        logging.getLogger().handlers[:] = []


def test_the_log_handler_scrubs_every_part_of_every_record(logged: io.StringIO) -> None:
    # a library's logger, a URL in the arguments, in the message, in an extra field and in a
    # traceback's text
    logging.getLogger("aio_pika.robust_connection").info(
        "Connection to %s closed.", "amqp://guest:guest@127.0.0.1:5672/"
    )
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/files/k?signature=SIGSIG", "1.1", 200
    )
    logging.getLogger("pixelpress").warning(
        "database at postgresql://app:dbpass@db/pp", extra={"target": "redis://:redispass@r/0"}
    )
    try:
        raise ConnectionError("cannot reach smtp://mailer:mailpass@mail:587")
    except ConnectionError:
        logging.getLogger("taskiq.receiver").exception("Exception found while executing")
    logging.getLogger("pixelpress").info("%s and %s", "too few")  # a bad call still logs
    out = logged.getvalue()
    for secret in ("guest:guest", "SIGSIG", "dbpass", "redispass", "mailpass"):
        assert secret not in out
    for shown in (
        "amqp://guest:***@127.0.0.1:5672/",
        "signature=***",
        "postgresql://app:***@db/pp",
        "smtp://mailer:***@mail:587",
        "ConnectionError",
        "too few",
    ):
        assert shown in out
    assert len(out.strip().splitlines()) >= 5
    if out.startswith("{"):
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert lines[2]["target"] == "redis://:***@r/0"
        assert "ConnectionError" in lines[3]["exc_info"]


def test_settings_never_show_a_secret() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="postgresql://app:dbpass@db/pp",
        queue_url="amqp://guest:amqppass@rabbit:5672/",
        cache_url="redis://:redispass@cache:6379/0",
        smtp_url="smtp://mailer:mailpass@mail:587",
        secret_key="the-secret-key",
        s3_access_key_id="AKIDEXAMPLE",
        s3_secret_access_key="s3secret",
        url_signing_keys=["signing-key-1"],
    )
    for shown in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        for secret in (
            "dbpass", "amqppass", "redispass", "mailpass", "the-secret-key", "AKIDEXAMPLE",
            "s3secret", "signing-key-1",
        ):  # fmt: skip
            assert secret not in shown
        assert "amqp://guest:***@rabbit:5672/" in shown
        assert "access_token_minutes=30" in shown  # a setting about tokens is no secret
    # the values themselves are intact for the code that uses them
    assert settings.queue_url == "amqp://guest:amqppass@rabbit:5672/"
    assert settings.url_signing_keys == ["signing-key-1"]
