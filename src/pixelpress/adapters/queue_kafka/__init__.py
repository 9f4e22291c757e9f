"""TaskQueue on Apache Kafka (or any broker speaking its protocol) through aiokafka. Each queue
has three topics: `{name}` (the work), `{name}.delay` (work to hand on later) and `{name}.dead`
(what failed for good, for operators), created at start-up when missing. A message is a small
JSON object naming an id; the database is the truth about the work itself.

- Keys: a message's key is the key given to `publish` (the image id for image jobs), else the id,
  so one image's jobs land in one partition; a consumer runs the messages of one key one after
  the other, in their partition's order, and different keys side by side, up to its concurrency.
- At least once: a consumer group per topic (`{group}.{topic}`) shares the partitions among the
  `pixelpress worker`s and hands a dead one's to the others; an offset is committed only after
  the handler returned, which is after the outcome was committed to the database.
- Delays go through the `.delay` topic, whose consumer keeps each waiting message as a timer of
  its own and hands it to `{name}` when due, committing its offset only then. So a long delay
  (a 600 s notification back-off) holds up nothing behind it, not even in its own partition, and
  delays stay exact. Scheduling through the database and the sweep was the other way: it would
  need the adapter to reach the jobs and notifications tables, and the sweep's period (a
  minute) is far coarser than a lease re-check (seconds).
- Dead letters are JSON `{"id", "queue", "reason"}` records in `{name}.dead`, keyed by id.
- An API process (no handler) only produces; it never joins a group.

The cluster may be down when the process starts: it then starts all the same and keeps trying
in the background. Until it is reached, publishing raises Unavailable (the caller keeps the work
in the database for the sweep) and `ping` names the queue as down; afterwards `ping` asks the
cluster for its metadata, and a publish the cluster does not acknowledge in time is Unavailable
too."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from pixelpress.adapters.queue_kafka.connection import KafkaConnection, ensure_topics
from pixelpress.adapters.queue_kafka.consumer import CommittingConsumer
from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Handler

__all__ = ["KafkaConnection", "KafkaQueue"]

log = logging.getLogger(__name__)

CONNECT_RETRY_SECONDS = 2.0
START_WAIT_SECONDS = 10.0
PING_SECONDS = 3.0
PUBLISH_SECONDS = 5.0
STOP_GRACE_SECONDS = 30.0
DELAY_WINDOW = 10_000
"""Delayed messages one consumer keeps waiting at once; past it, it stops fetching more."""


class KafkaQueue:
    def __init__(
        self,
        connection: KafkaConnection,
        *,
        name: str,
        concurrency: int,
        group: str,
        partitions: int,
        replication_factor: int = 1,
        session_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.delay_topic = f"{name}.delay"
        self.dead_topic = f"{name}.dead"
        self._connection = connection
        self._concurrency = concurrency
        self._group = group
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._session_timeout = session_timeout
        self._producer: Any = None
        self._connected = asyncio.Event()
        self._background: asyncio.Task[None] | None = None
        self._consumers: list[CommittingConsumer] = []
        self._lost: asyncio.Task[None] | None = None
        """Set while a publish has failed and the cluster has not answered since."""

    def _down(self) -> Unavailable:
        return Unavailable(
            f"The {self.name} queue is unavailable (Kafka at {self._connection.describe()}).",
            dependency="queue",
        )

    async def start(self, handler: Handler | None) -> None:
        self._background = asyncio.create_task(self._connect(handler))
        # A cluster that answers is connected before start() returns; one that does not is
        # waited for in the background (the process starts degraded).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.shield(self._connected.wait()), timeout=START_WAIT_SECONDS
            )

    async def _connect(self, handler: Handler | None) -> None:
        options = self._connection.client_options()
        while True:
            producer = AIOKafkaProducer(
                **options, acks="all", request_timeout_ms=int(PUBLISH_SECONDS * 1000)
            )
            try:
                await ensure_topics(
                    self._connection,
                    [self.name, self.delay_topic, self.dead_topic],
                    partitions=self._partitions,
                    replication_factor=self._replication_factor,
                    request_seconds=PUBLISH_SECONDS,
                )
                await producer.start()
                break
            except (KafkaError, OSError) as exc:
                log.warning(
                    "%s queue: Kafka at %s not reachable (%s); retrying in %.0f s",
                    self.name,
                    self._connection.describe(),
                    exc,
                    CONNECT_RETRY_SECONDS,
                )
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(CONNECT_RETRY_SECONDS)
        self._producer = producer
        self._connected.set()
        if handler is None:
            return  # an API process only produces

        async def run(record: Any) -> None:
            await handler(json.loads(record.value)["id"])

        self._consumers = [
            CommittingConsumer(
                lambda: self._consumer(self.name),
                self.name,
                run,
                window=max(32, self._concurrency * 16),
                concurrency=self._concurrency,
                keyed=True,
            ),
            CommittingConsumer(
                lambda: self._consumer(self.delay_topic),
                self.delay_topic,
                self._hand_on_when_due,
                window=DELAY_WINDOW,
                drop_lost=True,
            ),
        ]
        for consumer in self._consumers:
            consumer.start()

    def _consumer(self, topic: str) -> Any:
        session_ms = int(self._session_timeout * 1000)
        return AIOKafkaConsumer(
            **self._connection.client_options(),
            group_id=f"{self._group}.{topic}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # what was published before the group first met
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(100, session_ms // 3),
        )

    async def _hand_on_when_due(self, record: Any) -> None:
        body = json.loads(record.value)
        await asyncio.sleep(max(0.0, float(body["due"]) - time.time()))
        while True:
            try:
                await self._send(self.name, {"id": body["id"]}, record.key)
                return
            except Unavailable:
                await asyncio.sleep(CONNECT_RETRY_SECONDS)

    async def _send(self, topic: str, body: dict[str, Any], key: bytes | None) -> None:
        if not self._connected.is_set() or self._lost is not None:
            raise self._down()
        value = json.dumps(body, separators=(",", ":")).encode()
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(topic, value, key=key), timeout=PUBLISH_SECONDS
            )
        except (KafkaError, TimeoutError) as exc:
            if self._lost is None:
                self._lost = asyncio.create_task(self._until_back())
            raise self._down() from exc

    async def _until_back(self) -> None:
        """After a publish the cluster did not take, the next ones are refused at once (no
        request waits out a timeout while Kafka is away) until it answers a ping again."""
        while True:
            await asyncio.sleep(CONNECT_RETRY_SECONDS)
            with contextlib.suppress(Unavailable):
                await self._ask()
                break
        self._lost = None

    async def publish(self, item_id: str, *, delay: float = 0, key: str | None = None) -> None:
        message_key = (key or item_id).encode()
        if delay <= 0:
            await self._send(self.name, {"id": item_id}, message_key)
        else:
            due = time.time() + delay
            await self._send(self.delay_topic, {"id": item_id, "due": due}, message_key)

    async def dead_letter(self, item_id: str, reason: str) -> None:
        """Keeps a copy of an item that failed for good where operators look for such things."""
        body = {"id": item_id, "queue": self.name, "reason": reason}
        await self._send(self.dead_topic, body, item_id.encode())

    async def ping(self) -> None:
        """An answer from the cluster itself (its metadata), not the state of a client."""
        await self._ask()
        if self._lost is not None:  # it answers: publishing may go on at once
            self._lost.cancel()
            self._lost = None

    async def _ask(self) -> None:
        if not self._connected.is_set():
            raise self._down()
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), PING_SECONDS)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise self._down() from exc

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop(STOP_GRACE_SECONDS) for c in self._consumers))
        for task in (self._background, self._lost):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._producer is not None:  # flushes what is still on its way, for a while
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.stop(), timeout=PUBLISH_SECONDS)
