"""What the Kafka queue promises beyond the port's contract: its topics exist after start-up,
one key's items run one after the other in order, and the members of a group share the
partitions. Against Tansu on loopback."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from pixelpress.adapters.queue_kafka import KafkaConnection, KafkaQueue
from pixelpress.ports import Handler
from tests.kafka import Tansu


@pytest.fixture
async def started(kafka_broker: Tansu) -> AsyncIterator[list[KafkaQueue]]:
    queues: list[KafkaQueue] = []
    yield queues
    for queue in queues:
        await queue.stop()


def kafka(broker: Tansu, name: str, group: str, *, concurrency: int = 1) -> KafkaQueue:
    return KafkaQueue(
        KafkaConnection.from_url(broker.url),
        name=name,
        concurrency=concurrency,
        group=group,
        partitions=3,
        session_timeout=3,
    )


def unique() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"pixelpress.test.{tag}", f"pixelpress-test-{tag}"


async def test_start_up_creates_the_three_topics_with_their_partitions(
    kafka_broker: Tansu, started: list[KafkaQueue]
) -> None:
    name, group = unique()
    for _ in range(2):  # a second process finds them there
        queue = kafka(kafka_broker, name, group)
        started.append(queue)
        await queue.start(None)
        await queue.ping()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker.url.removeprefix("kafka://"))
    await admin.start()
    try:
        topics = [f"{name}", f"{name}.delay", f"{name}.dead"]
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    assert {t["topic"]: len(t["partitions"]) for t in described} == dict.fromkeys(topics, 3)


async def test_one_key_s_items_run_one_after_the_other_in_order_beside_other_keys(
    kafka_broker: Tansu, started: list[KafkaQueue]
) -> None:
    name, group = unique()
    log: list[str] = []
    done = asyncio.Event()

    async def handle(item: str) -> None:
        log.append(f"start {item}")
        await asyncio.sleep(0.2)
        log.append(f"end {item}")
        if len([e for e in log if e.startswith("end")]) == 5:
            done.set()

    consumer = kafka(kafka_broker, name, group, concurrency=3)
    publisher = kafka(kafka_broker, name, group)
    started.extend([consumer, publisher])
    await publisher.start(None)
    for n in range(4):
        await publisher.publish(f"a{n}", key="one-image")
    await publisher.publish("b", key="another-image")
    await consumer.start(handle)
    await asyncio.wait_for(done.wait(), timeout=30)
    one_image = [e for e in log if e.split()[1].startswith("a")]
    assert one_image == [f"{step} a{n}" for n in range(4) for step in ("start", "end")]
    # the other image's item did not wait for that line
    assert log.index("start b") < log.index("end a0")


async def test_the_members_of_a_group_share_the_partitions(
    kafka_broker: Tansu, started: list[KafkaQueue]
) -> None:
    name, group = unique()
    got: dict[str, list[str]] = {"first": [], "second": []}

    def handler(member: str) -> Handler:
        async def handle(item: str) -> None:
            got[member].append(item)

        return handle

    first, second = kafka(kafka_broker, name, group), kafka(kafka_broker, name, group)
    publisher = kafka(kafka_broker, name, group)
    started.extend([first, second, publisher])
    await first.start(handler("first"))
    await second.start(handler("second"))
    await publisher.start(None)
    deadline = time.monotonic() + 30
    sent = 0
    # Until both members have their share (the group settles after both have joined).
    while not (got["first"] and got["second"]):
        assert time.monotonic() < deadline, got
        for _ in range(10):
            await publisher.publish(f"item-{sent}", key=uuid.uuid4().hex)
            sent += 1
        await asyncio.sleep(0.5)
    while len(got["first"]) + len(got["second"]) < sent:
        assert time.monotonic() < deadline, got
        await asyncio.sleep(0.1)
    assert sorted(got["first"] + got["second"]) == sorted(f"item-{n}" for n in range(sent))


async def test_a_stopping_worker_finishes_what_it_began_and_leaves_the_rest_to_the_group(
    kafka_broker: Tansu, started: list[KafkaQueue]
) -> None:
    """A graceful stop commits the item whose handler returned, and not the one still waiting
    for its key's turn: the next member of the group gets that one, and only that one."""
    name, group = unique()
    began = asyncio.Event()
    release = asyncio.Event()
    handled: list[str] = []

    async def slow(item: str) -> None:
        began.set()
        await release.wait()
        handled.append(item)

    publisher, first = kafka(kafka_broker, name, group), kafka(kafka_broker, name, group)
    started.append(publisher)
    await publisher.start(None)
    await publisher.publish("first", key="one-image")
    await publisher.publish("second", key="one-image")
    await first.start(slow)
    await asyncio.wait_for(began.wait(), timeout=30)
    stopping = asyncio.create_task(first.stop())
    await asyncio.sleep(0.3)
    release.set()
    await stopping
    assert handled == ["first"]
    inbox: list[str] = []

    async def take(item: str) -> None:
        inbox.append(item)

    second = kafka(kafka_broker, name, group)
    started.append(second)
    await second.start(take)
    deadline = time.monotonic() + 30
    while not inbox:
        assert time.monotonic() < deadline, "the waiting item was not handed on"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)  # room for "first" to show up again, if it had not been committed
    assert inbox == ["second"]
