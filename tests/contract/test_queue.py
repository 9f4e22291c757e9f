from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from pixelpress.adapters.queue_inprocess import InProcessQueue
from pixelpress.adapters.queue_rabbitmq import RabbitQueue
from pixelpress.domain.errors import Unavailable
from pixelpress.ports import TaskQueue
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


def rabbit(name: str, concurrency: int = 1) -> RabbitQueue:
    return RabbitQueue(
        services.AMQP_URL, name=name, task_name=f"{name}.run", concurrency=concurrency
    )


@pytest.fixture(params=["memory", "amqp"])
async def queues(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[TaskQueue, TaskQueue, Inbox]]:
    """(publisher, consumer, what the consumer received): one queue in-process; on RabbitMQ a
    publishing process's queue and a worker's, on a queue of this test's own."""
    inbox = Inbox()
    if request.param == "memory":
        queue = InProcessQueue(name="test", concurrency=2)
        await queue.start(inbox.handle)
        yield queue, queue, inbox
        await queue.stop()
        return
    services.need("RabbitMQ")
    name = f"pixelpress.test.{uuid.uuid4().hex[:8]}"
    publisher = rabbit(name)
    consumer = rabbit(name, concurrency=2)
    await consumer.start(inbox.handle)
    await publisher.start(None)
    try:
        yield publisher, consumer, inbox
    finally:
        await publisher.stop()
        await consumer.stop()
        await services.delete_queues(name)


async def test_published_ids_reach_the_consumer(
    queues: tuple[TaskQueue, TaskQueue, Inbox],
) -> None:
    publisher, _, inbox = queues
    for n in range(5):
        await publisher.publish(f"job-{n}")
    await inbox.wait_for(5)
    assert sorted(job for job, _ in inbox.received) == [f"job-{n}" for n in range(5)]


async def test_delayed_publish_arrives_after_the_delay(
    queues: tuple[TaskQueue, TaskQueue, Inbox],
) -> None:
    publisher, _, inbox = queues
    sent = time.monotonic()
    await publisher.publish("later", delay=1.0)
    await inbox.wait_for(1)
    assert inbox.received[0][1] - sent >= 0.9


async def test_ping(queues: tuple[TaskQueue, TaskQueue, Inbox]) -> None:
    publisher, consumer, _ = queues
    await publisher.ping()
    await consumer.ping()


async def test_final_failures_are_dead_lettered_on_rabbitmq() -> None:
    import json

    import aio_pika

    services.need("RabbitMQ")
    name = f"pixelpress.test.{uuid.uuid4().hex[:8]}"
    queue = rabbit(name)
    await queue.start(None)
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
            "id": "job-1",
            "queue": name,
            "reason": "The image is corrupt or truncated and cannot be read.",
        }
    finally:
        await queue.stop()
        await services.delete_queues(name)


async def until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    """Waits for something to happen (never for something not to)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_queue_runs_at_most_its_concurrency_and_two_queues_share_no_slots(
    queues: tuple[TaskQueue, TaskQueue, Inbox],
) -> None:
    """Slots are per queue: a second queue's items run while the first one's are all stuck (a
    slow webhook can never hold an image job's slot). The stuck ones are then let through one
    at a time: each frees one slot, and only then does the next start."""
    _, consumer, inbox = queues
    gates: dict[str, asyncio.Event] = {}
    started: list[str] = []
    running = 0
    most = 0
    opened = False

    async def stuck(item: str) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        started.append(item)
        if not opened:
            await gates.setdefault(item, asyncio.Event()).wait()
        running -= 1
        await inbox.handle(item)

    if isinstance(consumer, InProcessQueue):
        slow = InProcessQueue(name="slow", concurrency=2)
        fast = InProcessQueue(name="fast", concurrency=1)
        pairs: list[tuple[TaskQueue, TaskQueue]] = [(slow, slow), (fast, fast)]
    else:
        name = f"pixelpress.test.{uuid.uuid4().hex[:8]}"
        pairs = [(rabbit(f"{name}.slow"), rabbit(f"{name}.slow", 2)),
                 (rabbit(f"{name}.fast"), rabbit(f"{name}.fast"))]  # fmt: skip
    (slow_out, slow_in), (fast_out, fast_in) = pairs
    await slow_in.start(stuck)
    await fast_in.start(inbox.handle)
    for started_queue in (slow_out, fast_out):
        if started_queue is not slow_in and started_queue is not fast_in:
            await started_queue.start(None)
    try:
        for n in range(5):
            await slow_out.publish(f"slow-{n}")
        await fast_out.publish("fast")
        await inbox.wait_for(1)
        await until(lambda: running == 2, "two slow items to run")
        assert [item for item, _ in inbox.received] == ["fast"]
        for n in range(5):
            gates.setdefault(started[n], asyncio.Event()).set()
            await until(lambda n=n: len(inbox.received) == n + 2, f"slow item {n} to end")  # type: ignore[misc]
            await until(lambda n=n: len(started) == min(5, n + 3), "the next to start")  # type: ignore[misc]
        assert most == 2  # never more than its concurrency at once
        assert sorted(started) == [f"slow-{n}" for n in range(5)]
    finally:
        opened = True
        for gate in gates.values():
            gate.set()
        for queue in {id(q): q for pair in pairs for q in pair}.values():
            await queue.stop()
        if not isinstance(consumer, InProcessQueue):
            await services.delete_queues(f"{name}.slow")
            await services.delete_queues(f"{name}.fast")


async def test_rabbitmq_down_at_start_then_up_then_down_again() -> None:
    """A process starts while the broker is down (degraded, not dead): publishing says
    Unavailable and ping names the queue; it connects on its own once the broker is back; and
    ping tells the truth during a later outage (the connection object stays "open" while it
    reconnects, so only an answer from the broker counts)."""
    from tests.proxy import CuttableProxy

    services.need("RabbitMQ")
    proxy = CuttableProxy("127.0.0.1", 5672)
    await proxy.start()
    port = proxy.port
    await proxy.cut()  # nothing listens on `port` now
    name = f"pixelpress.test.{uuid.uuid4().hex[:8]}"
    url = services.AMQP_URL.replace(":5672", f":{port}")
    inbox = Inbox()
    consumer = RabbitQueue(url, name=name, task_name=f"{name}.run", concurrency=1, start_wait=0.5)
    publisher = RabbitQueue(url, name=name, task_name=f"{name}.run", concurrency=1, start_wait=0.5)
    try:
        await consumer.start(inbox.handle)
        await publisher.start(None)
        with pytest.raises(Unavailable):
            await publisher.ping()
        with pytest.raises(Unavailable):
            await publisher.publish("early")
        await proxy.start()  # the broker is back, on the same port
        deadline = time.monotonic() + 20
        while True:
            try:
                await publisher.ping()
                await consumer.ping()
                break
            except Unavailable:
                assert time.monotonic() < deadline, "never connected"
                await asyncio.sleep(0.2)
        await publisher.publish("late")
        await inbox.wait_for(1)
        assert [item for item, _ in inbox.received] == ["late"]
        await proxy.cut()
        deadline = time.monotonic() + 10
        while True:  # noticed at the latest when the broker fails to answer a ping in time
            try:
                await publisher.ping()
            except Unavailable:
                break
            assert time.monotonic() < deadline, "the outage was never noticed"
            await asyncio.sleep(0.2)
        await proxy.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                await publisher.ping()
                await publisher.publish("after")
                break
            except Unavailable:
                assert time.monotonic() < deadline, "never reconnected"
                await asyncio.sleep(0.5)
        await inbox.wait_for(2, timeout=30)
    finally:
        await publisher.stop()
        await consumer.stop()
        await proxy.cut()
        await services.delete_queues(name)
