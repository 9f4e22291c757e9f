"""Building a TaskQueue of each production kind for the contract suite; run as a script, a
consumer in a process of its own that takes items and never finishes them (the suite kills it to
see its items delivered again):

    python -m tests.contract.queues KIND URL NAME GROUP
"""

from __future__ import annotations

import asyncio
import sys

from pixelpress.adapters.queue_kafka import KafkaConnection, KafkaQueue
from pixelpress.adapters.queue_rabbitmq import RabbitQueue
from pixelpress.ports import TaskQueue

SESSION_SECONDS = 3.0
"""A dead test consumer's partitions go to the others this soon."""


def build(kind: str, url: str, name: str, concurrency: int, *, group: str) -> TaskQueue:
    if kind == "amqp":
        return RabbitQueue(url, name=name, task_name=f"{name}.run", concurrency=concurrency)
    if kind == "kafka":
        return KafkaQueue(
            KafkaConnection.from_url(url),
            name=name,
            concurrency=concurrency,
            group=group,
            partitions=3,
            session_timeout=SESSION_SECONDS,
        )
    raise ValueError(kind)


async def hold_forever(kind: str, url: str, name: str, group: str) -> None:
    queue = build(kind, url, name, 1, group=group)

    async def hold(item: str) -> None:
        print(f"got {item}", flush=True)
        await asyncio.Event().wait()

    await queue.start(hold)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(hold_forever(*sys.argv[1:5]))
