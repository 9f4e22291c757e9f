"""Real services for tests. Unreachable means skipped with a reason, unless
PIXELPRESS_REQUIRE_SERVICES=1 (as .ci/run sets), where it fails the run."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get(
    "PIXELPRESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("PIXELPRESS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("PIXELPRESS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def required() -> bool:
    return os.environ.get("PIXELPRESS_REQUIRE_SERVICES") == "1"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


URLS = {"PostgreSQL": POSTGRES_URL, "Redis": REDIS_URL, "RabbitMQ": AMQP_URL}


def need(name: str) -> None:
    """Skips the test (fails it when services are required) unless `name` answers."""
    url = urlparse(URLS[name])
    host, port = url.hostname or "127.0.0.1", url.port or 0
    if reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if required():
        pytest.fail(f"{message} and PIXELPRESS_REQUIRE_SERVICES=1")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def moto_server() -> Iterator[str]:
    """An S3 stand-in on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def make_bucket(endpoint: str) -> str:
    import boto3

    name = f"pixelpress-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket=name)
    return name


async def fresh_postgres_database() -> str:
    """Creates an empty database for one test; returns its URL (drop it with drop_postgres)."""
    import asyncpg

    need("PostgreSQL")
    name = f"pixelpress_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_postgres(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def delete_queues(name: str) -> None:
    """Removes a test's RabbitMQ queue, its .delay and .dead queues, and its exchange."""
    import aio_pika

    conn = await aio_pika.connect(AMQP_URL)
    async with conn:
        channel = await conn.channel()
        for queue in (name, f"{name}.delay", f"{name}.dead"):
            await channel.queue_delete(queue)
        await channel.exchange_delete(name)
