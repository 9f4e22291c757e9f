"""JobQueue over taskiq. The message is only a job id: the jobs table is the truth about work.

`memory://` runs jobs inside this process (taskiq's InMemoryBroker). `amqp://` publishes to
RabbitMQ through taskiq-aio-pika: a durable quorum queue, persistent messages, publisher
confirms (aio-pika's default), a prefetch equal to the worker's concurrency, and acks only
after the handler returned, which is after the job's result was committed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import urlparse

from taskiq import InMemoryBroker

from pixelpress.domain.errors import Unavailable
from pixelpress.ports import JobHandler

log = logging.getLogger(__name__)

SCHEMES = ("memory", "amqp", "amqps")
TASK_NAME = "pixelpress.run_job"
DELIVER_TASK = "pixelpress.deliver_notification"


def _amqp_broker(url: str, name: str, concurrency: int) -> Any:
    from taskiq_aio_pika import AioPikaBroker
    from taskiq_aio_pika.exchange import Exchange
    from taskiq_aio_pika.queue import Queue, QueueType

    return AioPikaBroker(
        url,
        qos=concurrency,
        exchange=Exchange(name=name),
        task_queues=[Queue(name=name, type=QueueType.QUORUM, durable=True)],
        dead_letter_queue=Queue(name=f"{name}.dead", type=QueueType.QUORUM, durable=True),
        # Per-message expiry, dead-lettered back into the job queue: real delays, no plugin.
        delay_queue=Queue(name=f"{name}.delay", type=QueueType.CLASSIC, durable=True),
        timeout=10,
    )


class TaskiqJobQueue:
    def __init__(
        self, broker: Any, *, in_process: bool, concurrency: int = 1, name: str = ""
    ) -> None:
        self._broker = broker
        self._name = name
        self._task: Any = None
        self._deliver_task: Any = None
        self._concurrency = concurrency
        self._finish = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._delayed: set[asyncio.Task[None]] = set()
        self.in_process = in_process
        """True when jobs run inside this process (nothing else can be working on them)."""

    @classmethod
    def from_url(
        cls, url: str, *, concurrency: int = 1, name: str = "pixelpress.jobs"
    ) -> TaskiqJobQueue:
        scheme = urlparse(url).scheme
        if scheme == "memory":
            return cls(InMemoryBroker(propagate_exceptions=False), in_process=True)
        if scheme in ("amqp", "amqps"):
            broker = _amqp_broker(url, name, concurrency)
            return cls(broker, in_process=False, concurrency=concurrency, name=name)
        raise ValueError(
            f"Unsupported queue URL scheme {scheme!r}; use one of: {', '.join(SCHEMES)}"
        )

    async def start(
        self, handler: JobHandler, *, consume: bool, deliverer: JobHandler | None = None
    ) -> None:
        async def run_job(job_id: str) -> None:
            await handler(job_id)

        async def deliver_notification(notification_id: str) -> None:
            if deliverer is not None:
                await deliverer(notification_id)

        self._task = self._broker.register_task(run_job, task_name=TASK_NAME)
        self._deliver_task = self._broker.register_task(
            deliver_notification, task_name=DELIVER_TASK
        )
        if self.in_process:
            await self._broker.startup()
            return
        self._broker.is_worker_process = consume
        try:
            await self._broker.startup()
        except Exception as exc:  # aio-pika's connection errors
            raise Unavailable("The job queue is unavailable.", dependency="queue") from exc
        if consume:
            from taskiq.receiver import Receiver

            receiver = Receiver(self._broker, max_async_tasks=self._concurrency, run_startup=False)
            self._listener = asyncio.create_task(receiver.listen(self._finish))

    async def publish(self, job_id: str, *, delay: float = 0) -> None:
        assert self._task is not None, "start() the queue before publishing"
        await self._send(self._task, job_id, delay)

    async def deliver(self, notification_id: str, *, delay: float = 0) -> None:
        assert self._deliver_task is not None, "start() the queue before publishing"
        await self._send(self._deliver_task, notification_id, delay)

    async def _send(self, task: Any, item_id: str, delay: float) -> None:
        if delay <= 0:
            await self._kiq(task.kicker(), item_id)
        elif self.in_process:
            # InMemoryBroker ignores delays: wait here, without holding up the caller.
            later = asyncio.create_task(self._later(task, item_id, delay))
            self._delayed.add(later)
            later.add_done_callback(self._delayed.discard)
        else:
            await self._kiq(task.kicker().with_labels(delay=delay), item_id)

    async def _kiq(self, kicker: Any, job_id: str) -> None:
        try:
            await kicker.kiq(job_id)
        except Exception as exc:  # a broker connection error must not pass as a 500
            if self.in_process:
                raise
            raise Unavailable("The job queue is unavailable.", dependency="queue") from exc

    async def _later(self, task: Any, item_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._send(task, item_id, 0)

    async def dead_letter(self, job_id: str, reason: str) -> None:
        """Keeps a record of a job that failed for good where operators look for them."""
        if self.in_process:
            log.warning("job %s failed for good: %s", job_id, reason)
            return
        from aio_pika import DeliveryMode, Message

        body = json.dumps({"jobId": job_id, "reason": reason}).encode()
        message = Message(
            body, delivery_mode=DeliveryMode.PERSISTENT, content_type="application/json"
        )
        exchange = self._broker.write_channel.default_exchange
        await exchange.publish(message, routing_key=f"{self._name}.dead")

    async def stop(self) -> None:
        self._finish.set()
        for task in list(self._delayed):
            task.cancel()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener, timeout=30)
        await self._broker.shutdown()

    async def drain(self) -> None:
        """Waits for the jobs running in this process (the in-memory broker only)."""
        if isinstance(self._broker, InMemoryBroker):
            # A job's completion hands notifications on: wait until nothing is left running.
            while self._broker._running_tasks or self._delayed:
                await asyncio.gather(*self._delayed, return_exceptions=True)
                await self._broker.wait_all()

    async def ping(self) -> None:
        if self.in_process:
            return
        conn = self._broker.write_conn
        if conn is None or conn.is_closed:
            raise Unavailable("The job queue is unavailable.", dependency="queue")
