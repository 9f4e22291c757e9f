from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from pixelpress.adapters.queue_taskiq import TaskiqJobQueue
from tests import services


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, float]] = []
        self.event = asyncio.Event()

    async def handle(self, job_id: str) -> None:
        self.received.append((job_id, time.monotonic()))
        self.event.set()

    async def wait_for(self, count: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"only {len(self.received)} of {count} arrived"
            await asyncio.sleep(0.05)


@pytest.fixture(params=["memory", "amqp"])
async def queues(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[TaskiqJobQueue, TaskiqJobQueue, Inbox]]:
    """(publisher, consumer, what the consumer received): one queue in-process; on RabbitMQ a
    publishing process's queue and a worker's, on a queue of this test's own."""
    inbox = Inbox()
    if request.param == "memory":
        queue = TaskiqJobQueue.from_url("memory://")
        await queue.start(inbox.handle, consume=True)
        yield queue, queue, inbox
        await queue.stop()
        return
    services.need("RabbitMQ")
    name = f"pixelpress.test.{uuid.uuid4().hex[:8]}"
    publisher = TaskiqJobQueue.from_url(services.AMQP_URL, name=name)
    consumer = TaskiqJobQueue.from_url(services.AMQP_URL, name=name, concurrency=2)
    await consumer.start(inbox.handle, consume=True)
    await publisher.start(inbox.handle, consume=False)
    try:
        yield publisher, consumer, inbox
    finally:
        await publisher.stop()
        await consumer.stop()
        await services.delete_queues(name)


async def test_published_ids_reach_the_consumer(
    queues: tuple[TaskiqJobQueue, TaskiqJobQueue, Inbox],
) -> None:
    publisher, _, inbox = queues
    for n in range(5):
        await publisher.publish(f"job-{n}")
    await inbox.wait_for(5)
    assert sorted(job for job, _ in inbox.received) == [f"job-{n}" for n in range(5)]


async def test_delayed_publish_arrives_after_the_delay(
    queues: tuple[TaskiqJobQueue, TaskiqJobQueue, Inbox],
) -> None:
    publisher, _, inbox = queues
    sent = time.monotonic()
    await publisher.publish("later", delay=1.0)
    await inbox.wait_for(1)
    assert inbox.received[0][1] - sent >= 0.9


async def test_ping(queues: tuple[TaskiqJobQueue, TaskiqJobQueue, Inbox]) -> None:
    publisher, consumer, _ = queues
    await publisher.ping()
    await consumer.ping()


async def test_final_failures_are_dead_lettered_on_rabbitmq() -> None:
    import json

    import aio_pika

    services.need("RabbitMQ")
    name = f"pixelpress.test.{uuid.uuid4().hex[:8]}"
    queue = TaskiqJobQueue.from_url(services.AMQP_URL, name=name)

    async def never(_: str) -> None:
        raise AssertionError("a publisher does not consume")

    await queue.start(never, consume=False)
    try:
        await queue.dead_letter("job-1", "The image is corrupt or truncated and cannot be read.")
        conn = await aio_pika.connect(services.AMQP_URL)
        async with conn:
            channel = await conn.channel()
            dead = await channel.get_queue(f"{name}.dead")
            message = await dead.get(timeout=5)
            assert message is not None
            await message.ack()
        body = json.loads(message.body)
        assert body == {
            "jobId": "job-1",
            "reason": "The image is corrupt or truncated and cannot be read.",
        }
    finally:
        await queue.stop()
        await services.delete_queues(name)
