"""TaskQueue on RabbitMQ through taskiq-aio-pika: one queue of its own per instance (image jobs and
notifications each have theirs, with their own consumers and prefetch, so neither can hold the
other's slots). The message is only an id: the database is the truth about work.

A durable quorum queue, persistent messages, publisher confirms (aio-pika's default), a prefetch
equal to the consumer's concurrency, and the ack only after the handler returned, which is after
the outcome was committed. Final failures are copied to `.dead`.

Delays go through delay queues, one per step of a fixed ladder (1 s, 2 s, 3 s, ... 900 s), each
with one TTL for all its messages and dead-lettering back into the work queue: no plugin needed.
One queue per TTL because RabbitMQ expires messages only at a queue's head: in one queue of
per-message TTLs (what taskiq-aio-pika does), a 600 s back-off would hold up a 2 s lease re-check
queued behind it. A delay is rounded down to its step (at most 29 % early: a back-off a little
shorter, a lease re-check that may find the lease still live and look again).

The broker may be down when the process starts: it then starts all the same and keeps trying to
connect in the background. Until it is connected, publishing raises Unavailable (the caller keeps
the work in the database for the sweep) and `ping` names the queue as down."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel
from taskiq import BrokerMessage
from taskiq_aio_pika import AioPikaBroker
from taskiq_aio_pika.exchange import Exchange
from taskiq_aio_pika.queue import Queue, QueueType

from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Handler

log = logging.getLogger(__name__)

CONNECT_RETRY_SECONDS = 2.0
PING_SECONDS = 3.0
START_WAIT_SECONDS = 5.0
"""How long `start` waits for a first connection before going on degraded."""


DELAY_STEPS = (1, 2, 3, 4, 5, 7, 10, 14, 20, 28, 40, 56, 80, 112, 160, 225, 320, 450, 640, 900)
"""Seconds; each step about 1.41 times the one before."""


def delay_step(seconds: float) -> int:
    """The longest step not longer than `seconds` (the shortest for anything shorter)."""
    return max((step for step in DELAY_STEPS if step <= seconds), default=DELAY_STEPS[0])


class _LadderBroker(AioPikaBroker):
    """taskiq-aio-pika's broker, with delays on the ladder of delay queues (module docstring)."""

    def __init__(self, url: str, *, name: str, concurrency: int) -> None:
        super().__init__(
            url,
            qos=concurrency,
            exchange=Exchange(name=name),
            task_queues=[Queue(name=name, type=QueueType.QUORUM, durable=True)],
            dead_letter_queue=Queue(name=f"{name}.dead", type=QueueType.QUORUM, durable=True),
            timeout=10,
        )
        self._queue_name = name

    @property
    def channel(self) -> AbstractChannel:
        """The publishing channel (once started)."""
        if self.write_channel is None:
            raise Unavailable("The queue is not connected yet.", dependency="queue")
        return self.write_channel

    def step_queue(self, step: int) -> str:
        return f"{self._queue_name}.delay.{step}s"

    async def startup(self) -> None:
        await super().startup()
        for step in DELAY_STEPS:
            await self.channel.declare_queue(
                self.step_queue(step),
                durable=True,
                arguments={
                    "x-message-ttl": step * 1000,
                    "x-dead-letter-exchange": self._queue_name,
                    "x-dead-letter-routing-key": self._queue_name,
                },
            )

    async def kick(self, message: BrokerMessage) -> None:
        delay = message.labels.get("delay")
        if delay is None:
            await super().kick(message)
            return
        rmq_message = Message(
            body=message.message,
            headers={"task_id": message.task_id, "task_name": message.task_name},
            delivery_mode=DeliveryMode.PERSISTENT,
        )
        await self.channel.default_exchange.publish(
            rmq_message, routing_key=self.step_queue(delay_step(float(delay)))
        )


class RabbitQueue:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        task_name: str,
        concurrency: int,
        start_wait: float = START_WAIT_SECONDS,
    ) -> None:
        self.name = name
        self._start_wait = start_wait
        self._task_name = task_name
        self._concurrency = concurrency
        self._broker = _LadderBroker(url, name=name, concurrency=concurrency)
        self._task: Any = None
        self._connected = asyncio.Event()
        self._finish = asyncio.Event()
        self._background: asyncio.Task[None] | None = None

    def _down(self) -> Unavailable:
        return Unavailable(f"The {self.name} queue is unavailable.", dependency="queue")

    async def start(self, handler: Handler | None) -> None:
        async def run(item_id: str) -> None:
            if handler is not None:
                await handler(item_id)

        self._task = self._broker.register_task(run, task_name=self._task_name)
        self._broker.is_worker_process = handler is not None
        self._background = asyncio.create_task(self._connect_and_consume(handler is not None))
        # A broker that answers is connected before start() returns; one that does not is
        # waited for in the background (the process starts degraded).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._connected.wait()), timeout=self._start_wait)

    async def _connect_and_consume(self, consume: bool) -> None:
        while True:
            try:
                await self._broker.startup()
                break
            except Exception as exc:  # aio-pika's connection errors, of several kinds
                log.warning(
                    "%s queue: broker not reachable (%s); retrying in %.0f s",
                    self.name,
                    type(exc).__name__,
                    CONNECT_RETRY_SECONDS,
                )
                with contextlib.suppress(Exception):
                    await self._broker.shutdown()
                await asyncio.sleep(CONNECT_RETRY_SECONDS)
        self._connected.set()
        if consume:
            from taskiq.receiver import Receiver

            receiver = Receiver(self._broker, max_async_tasks=self._concurrency, run_startup=False)
            await receiver.listen(self._finish)

    async def publish(self, item_id: str, *, delay: float = 0, key: str | None = None) -> None:
        if not self._connected.is_set():
            raise self._down()
        kicker = self._task.kicker()
        if delay > 0:
            kicker = kicker.with_labels(delay=delay)
        try:
            await kicker.kiq(item_id)
        except Exception as exc:  # a broker connection error must not pass as a 500
            raise self._down() from exc

    async def dead_letter(self, item_id: str, reason: str) -> None:
        """Keeps a copy of an item that failed for good where operators look for such things."""
        if not self._connected.is_set():
            raise self._down()
        body = json.dumps({"id": item_id, "queue": self.name, "reason": reason}).encode()
        message = Message(
            body, delivery_mode=DeliveryMode.PERSISTENT, content_type="application/json"
        )
        try:
            exchange = self._broker.channel.default_exchange
            await exchange.publish(message, routing_key=f"{self.name}.dead")
        except Exception as exc:
            raise self._down() from exc

    async def ping(self) -> None:
        """An answer from the broker itself (a passive declare of our queue), not the state of a
        connection object, which stays "open" while it reconnects."""
        connection = self._broker.write_conn
        if not self._connected.is_set() or connection is None or not connection.connected.is_set():
            raise self._down()  # known to be reconnecting: no need to wait for a timeout
        try:
            channel = self._broker.channel
            await asyncio.wait_for(
                channel.declare_queue(self.name, passive=True), timeout=PING_SECONDS
            )
        except Exception as exc:
            raise self._down() from exc

    async def stop(self) -> None:
        self._finish.set()
        if self._background is not None:
            if not self._connected.is_set():
                self._background.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._background, timeout=30)
        with contextlib.suppress(Exception):
            await self._broker.shutdown()
