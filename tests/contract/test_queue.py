from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pixelpress.adapters.queue_inprocess import InProcessQueue
from pixelpress.adapters.queue_rabbitmq import RabbitQueue
from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Handler, TaskQueue
from tests import services
from tests.contract import queues as kinds
from tests.kafka import Tansu
from tests.proxy import CuttableProxy

ROOT = Path(__file__).resolve().parents[2]


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, float]] = []
        self.event = asyncio.Event()

    async def handle(self, job_id: str) -> None:
        self.received.append((job_id, time.monotonic()))
        self.event.set()

    @property
    def items(self) -> list[str]:
        return [item for item, _ in self.received]

    async def wait_for(self, count: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"only {len(self.received)} of {count} arrived"
            await asyncio.sleep(0.05)


@dataclass
class Queues:
    """A queue of one kind, seen from a publishing process and from a consuming one (on the
    in-process kind, one object), on a name of this test's own."""

    kind: str
    url: str
    name: str
    group: str
    inbox: Inbox = field(default_factory=Inbox)
    started: list[TaskQueue] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    publisher: TaskQueue = field(init=False)
    consumer: TaskQueue = field(init=False)

    def pair(self, name: str, concurrency: int) -> tuple[TaskQueue, TaskQueue]:
        """(publisher, consumer) of queue `name`, not started."""
        self.names.append(name)
        if self.kind == "memory":
            queue = InProcessQueue(name=name, concurrency=concurrency)
            return queue, queue
        return (
            kinds.build(self.kind, self.url, name, 1, group=self.group),
            kinds.build(self.kind, self.url, name, concurrency, group=self.group),
        )

    async def start(self, queue: TaskQueue, handler: Handler | None) -> TaskQueue:
        if queue not in self.started:
            self.started.append(queue)
            await queue.start(handler)
        return queue

    async def close(self) -> None:
        for queue in self.started:
            await queue.stop()
        if self.kind == "amqp":
            for name in self.names:
                await services.delete_queues(name)


async def open_queues(kind: str, request: pytest.FixtureRequest) -> Queues:
    url = ""
    if kind == "amqp":
        services.need("RabbitMQ")
        url = services.AMQP_URL
    elif kind == "kafka":
        url = request.getfixturevalue("kafka_broker").url
    tag = uuid.uuid4().hex[:8]
    return Queues(kind, url, f"pixelpress.test.{tag}", f"pixelpress-test-{tag}")


@pytest.fixture(params=["memory", "amqp", "kafka"])
async def queues(request: pytest.FixtureRequest) -> AsyncIterator[Queues]:
    q = await open_queues(request.param, request)
    q.publisher, q.consumer = q.pair(q.name, 2)
    try:
        await q.start(q.consumer, q.inbox.handle)
        await q.start(q.publisher, None)
        yield q
    finally:
        await q.close()


async def test_published_ids_reach_the_consumer(queues: Queues) -> None:
    for n in range(5):
        await queues.publisher.publish(f"job-{n}")
    await queues.inbox.wait_for(5)
    assert sorted(queues.inbox.items) == [f"job-{n}" for n in range(5)]


async def test_delayed_publish_arrives_after_the_delay(queues: Queues) -> None:
    sent = time.monotonic()
    await queues.publisher.publish("later", delay=1.0)
    await queues.inbox.wait_for(1)
    assert queues.inbox.received[0][1] - sent >= 0.9


async def test_a_long_delay_holds_up_nothing_behind_it(queues: Queues) -> None:
    """Notification back-offs reach 600 s, and lease re-checks need a few seconds: the second
    must never wait for the first, even under one key (one Kafka partition)."""
    await queues.publisher.publish("long", delay=3.0, key="one-image")
    await queues.publisher.publish("short", delay=0.3, key="one-image")
    await queues.publisher.publish("now", key="one-image")
    await queues.inbox.wait_for(3, timeout=20)
    assert queues.inbox.items == ["now", "short", "long"]


async def test_ping(queues: Queues) -> None:
    await queues.publisher.ping()
    await queues.consumer.ping()


async def test_dead_letters_are_readable_by_operators(
    queues: Queues, caplog: pytest.LogCaptureFixture
) -> None:
    reason = "The image is corrupt or truncated and cannot be read."
    with caplog.at_level(logging.WARNING):
        await queues.publisher.dead_letter("job-1", reason)
    if queues.kind == "memory":  # the log is where an embedded install's operator looks
        assert any("job-1" in r.getMessage() and reason in r.getMessage() for r in caplog.records)
        return
    body = await read_dead_letter(queues)
    assert body == {"id": "job-1", "queue": queues.name, "reason": reason}


async def read_dead_letter(queues: Queues) -> object:
    """The first record of the `.dead` queue or topic, read as an operator's tool would."""
    if queues.kind == "amqp":
        import aio_pika

        conn = await aio_pika.connect(services.AMQP_URL)
        async with conn:
            channel = await conn.channel()
            dead = await channel.get_queue(f"{queues.name}.dead")
            message = await dead.get(timeout=5)
            assert message is not None
            await message.ack()
        return json.loads(message.body)
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        f"{queues.name}.dead",
        bootstrap_servers=queues.url.removeprefix("kafka://"),
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=15)
    finally:
        await consumer.stop()
    assert record.key == b"job-1"
    return json.loads(record.value)


async def until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    """Waits for something to happen (never for something not to)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_queue_runs_at_most_its_concurrency_and_two_queues_share_no_slots(
    queues: Queues,
) -> None:
    """Slots are per queue: a second queue's items run while the first one's are all stuck (a
    slow webhook can never hold an image job's slot). The stuck ones are then let through one
    at a time: each frees one slot, and only then does the next start."""
    inbox = Inbox()
    gates: dict[str, asyncio.Event] = {}
    started: list[str] = []
    running = 0
    most = 0

    async def stuck(item: str) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        started.append(item)
        await gates.setdefault(item, asyncio.Event()).wait()
        running -= 1
        await inbox.handle(item)

    slow_out, slow_in = queues.pair(f"{queues.name}.slow", 2)
    fast_out, fast_in = queues.pair(f"{queues.name}.fast", 1)
    await queues.start(slow_in, stuck)
    await queues.start(fast_in, inbox.handle)
    await queues.start(slow_out, None)
    await queues.start(fast_out, None)
    try:
        for n in range(5):
            await slow_out.publish(f"slow-{n}")
        await fast_out.publish("fast")
        await inbox.wait_for(1)
        await until(lambda: running == 2, "two slow items to run")
        assert inbox.items == ["fast"]
        for n in range(5):
            gates.setdefault(started[n], asyncio.Event()).set()
            await until(lambda n=n: len(inbox.received) == n + 2, f"slow item {n} to end")  # type: ignore[misc]
            await until(lambda n=n: len(started) == min(5, n + 3), "the next to start")  # type: ignore[misc]
        assert most == 2  # never more than its concurrency at once
        assert sorted(started) == [f"slow-{n}" for n in range(5)]
    finally:
        for gate in gates.values():
            gate.set()


@pytest.fixture(params=["amqp", "kafka"])
async def broker_queues(request: pytest.FixtureRequest) -> AsyncIterator[Queues]:
    """Queues of the kinds with a broker of their own (a process can die holding an item)."""
    q = await open_queues(request.param, request)
    try:
        yield q
    finally:
        await q.close()


@pytest.fixture
def child(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait(timeout=10)


async def test_an_item_held_by_a_consumer_that_dies_is_delivered_again(
    broker_queues: Queues, child: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """At least once: a consumer killed (SIGKILL) before its handler returned had not
    acknowledged or committed the item, so another consumer gets it."""
    q = broker_queues
    out = tmp_path / "child.out"
    with out.open("wb") as sink:
        child.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.contract.queues", q.kind, q.url, q.name, q.group],
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        )
    publisher, _ = q.pair(q.name, 1)
    await q.start(publisher, None)
    await publisher.publish("held")
    deadline = time.monotonic() + 30
    while "got held" not in out.read_text(errors="replace"):
        assert child[0].poll() is None, out.read_text(errors="replace")
        assert time.monotonic() < deadline, out.read_text(errors="replace")
        await asyncio.sleep(0.1)
    child[0].kill()
    child[0].wait(timeout=10)
    _, survivor = q.pair(q.name, 1)
    await q.start(survivor, q.inbox.handle)
    await q.inbox.wait_for(1, timeout=30)
    assert q.inbox.items == ["held"]


@pytest.fixture
async def behind_proxy(
    broker_queues: Queues, tmp_path: Path
) -> AsyncIterator[tuple[Queues, CuttableProxy]]:
    """The test's queues reach their broker through a proxy it can cut and restore."""
    q = broker_queues
    broker: Tansu | None = None
    if q.kind == "amqp":
        proxy = CuttableProxy("127.0.0.1", 5672)
        await proxy.start()
        q.url = services.AMQP_URL.replace(":5672/", f":{proxy.port}/")
    else:
        # Kafka clients go where the broker's metadata says: it advertises the proxy.
        proxy = CuttableProxy("127.0.0.1", 0)
        await proxy.start()
        broker = Tansu(tmp_path / "tansu.log", advertise=proxy.port).start()
        proxy.target = ("127.0.0.1", broker.port)
        q.url = broker.url
    try:
        yield q, proxy
    finally:
        await q.close()
        q.started.clear()
        await proxy.cut()
        if broker is not None:
            broker.stop()


async def ping_turns(queue: TaskQueue, *, up: bool, within: float = 30) -> bool:
    """Whether the queue's ping comes to answer (`up`) or to fail, within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            await queue.ping()
            if up:
                return True
        except Unavailable:
            if not up:
                return True
        await asyncio.sleep(0.3)
    return False


async def test_ping_and_publish_fail_while_the_broker_is_unreachable_and_recover(
    behind_proxy: tuple[Queues, CuttableProxy],
) -> None:
    q, proxy = behind_proxy
    publisher, _ = q.pair(q.name, 1)
    await q.start(publisher, None)
    await publisher.ping()
    await proxy.cut()
    # A client may not have seen its connection drop at the very instant of the cut.
    assert await ping_turns(publisher, up=False), "ping kept answering with the broker away"
    with pytest.raises(Unavailable):
        await publisher.publish("while-down")
    await proxy.start()  # back on the same port
    assert await ping_turns(publisher, up=True), "the queue did not come back"
    _, consumer = q.pair(q.name, 1)
    await q.start(consumer, q.inbox.handle)
    await publisher.publish("after")
    await q.inbox.wait_for(1, timeout=30)
    assert "after" in q.inbox.items


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
