"""One topic consumed in a consumer group, at least once, with offsets committed only past
messages whose action has returned.

Each message runs as a task of its own (up to `window` taken and unfinished at once), so a slow
one, or a busy key's queue of them, does not stop the messages behind it. Kafka keeps one
committed offset per partition, so what is committed is the lowest offset still unfinished (or
one past the last one read when none is). A consumer that dies before its action returned has
not committed it: the group hands the partition to another member, which reads it again.

Written by hand over aiokafka's plain consumer rather than taken from a taskiq Kafka broker:
when an offset is committed, in which order a key's messages run and what happens on a
rebalance are the guarantees asked of this queue, and they are this module's whole content."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError, KafkaError

log = logging.getLogger(__name__)

Action = Callable[[Any], Awaitable[None]]
"""What to do with one message (an aiokafka ConsumerRecord)."""
Partition = Any
"""aiokafka's TopicPartition."""

POLL_MS = 500
RETRY_SECONDS = 1.0
COMMIT_SECONDS = 5.0


class Watermarks:
    """Per partition: which offsets are running here, and the next one not yet read."""

    def __init__(self) -> None:
        self._running: dict[Partition, set[int]] = {}
        self._next: dict[Partition, int] = {}

    def seen(self, partition: Partition, offset: int) -> bool:
        """Read here before (running or done): after a rebalance that gave the partition back,
        the committed offset may lag behind what this process already took."""
        return offset < self._next.get(partition, -1)

    def begin(self, partition: Partition, offset: int) -> None:
        self._running.setdefault(partition, set()).add(offset)
        self._next[partition] = offset + 1

    def end(self, partition: Partition, offset: int) -> int | None:
        """The offset to commit now that `offset` is done; None once the partition is forgotten."""
        if partition not in self._next:
            return None
        running = self._running[partition]
        running.discard(offset)
        return min(running) if running else self._next[partition]

    def committable(self, partitions: Iterable[Partition]) -> dict[Partition, int]:
        return {
            p: min(self._running[p]) if self._running[p] else self._next[p]
            for p in partitions
            if p in self._next
        }

    def known(self) -> set[Partition]:
        return set(self._next)

    def forget(self, partitions: Iterable[Partition]) -> None:
        for p in partitions:
            self._next.pop(p, None)
            self._running.pop(p, None)


class CommittingConsumer:
    """`make` builds the aiokafka consumer (group, no auto-commit). `concurrency` caps actions
    running at once (None: no cap); `keyed` runs messages with one key one after the other, in
    their partition's order; `drop_lost` cancels the actions of partitions handed to another
    member (their messages will be acted on there)."""

    def __init__(
        self,
        make: Callable[[], Any],
        topic: str,
        action: Action,
        *,
        window: int,
        concurrency: int | None = None,
        keyed: bool = False,
        drop_lost: bool = False,
    ) -> None:
        self.topic = topic
        self._make = make
        self._action = action
        self._window = window
        self._slots = asyncio.Semaphore(concurrency) if concurrency else None
        self._keyed = keyed
        self._drop_lost = drop_lost
        self._consumer: Any = None
        self._marks = Watermarks()
        self._tasks: dict[asyncio.Task[None], Partition] = {}
        """Every message taken and not done, by its task."""
        self._started: set[asyncio.Task[None]] = set()
        """Those whose action has begun (the others wait for their key's turn or a slot)."""
        self._lanes: dict[bytes | None, asyncio.Task[None]] = {}
        self._to_commit: dict[Partition, int] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Consumes in the background until `stop`."""
        self._task = asyncio.create_task(self._run(), name=f"consume {self.topic}")

    async def _run(self) -> None:
        """Keeps trying while the cluster cannot be reached, then consumes."""
        while self._consumer is None and not self._stopping.is_set():
            consumer = self._make()
            try:
                await consumer.start()  # joins the group: a few seconds
            except asyncio.CancelledError:
                with contextlib.suppress(KafkaError, TimeoutError):
                    await asyncio.wait_for(consumer.stop(), timeout=COMMIT_SECONDS)
                raise
            except KafkaError as exc:
                log.warning("%s: Kafka not reachable (%s); retrying", self.topic, exc)
                with contextlib.suppress(KafkaError):
                    await consumer.stop()
                await asyncio.sleep(RETRY_SECONDS)
                continue
            consumer.subscribe([self.topic], listener=_Listener(self))
            self._consumer = consumer
        committer = asyncio.create_task(self._commit_when_woken())
        try:
            while not self._stopping.is_set():
                await self._poll()
        finally:
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await committer

    async def _poll(self) -> None:
        consumer = self._consumer
        room = self._window - len(self._tasks)
        assigned = consumer.assignment()
        if room <= 0:
            consumer.pause(*assigned)
        elif consumer.paused():
            consumer.resume(*assigned)
        try:
            batches = await consumer.getmany(timeout_ms=POLL_MS, max_records=max(room, 1))
        except KafkaError as exc:
            log.warning("%s: fetching failed (%s); retrying", self.topic, exc)
            await asyncio.sleep(RETRY_SECONDS)
            return
        for partition, records in batches.items():
            for record in records:
                self._dispatch(partition, record)

    def _dispatch(self, partition: Partition, record: Any) -> None:
        if self._marks.seen(partition, record.offset):
            return
        self._marks.begin(partition, record.offset)
        previous = self._lanes.get(record.key) if self._keyed else None
        task = asyncio.create_task(self._act(record, previous))
        self._tasks[task] = partition
        if self._keyed:
            self._lanes[record.key] = task
        task.add_done_callback(lambda done: self._done(done, partition, record))

    async def _act(self, record: Any, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            if self._slots is None:
                self._began()
                await self._action(record)
            else:
                async with self._slots:
                    self._began()
                    await self._action(record)
        except Exception:  # the action records outcomes; an escape must not stall the partition
            log.exception(
                "%s: message at %s/%s failed", self.topic, record.partition, record.offset
            )

    def _began(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._started.add(task)

    def _done(self, task: asyncio.Task[None], partition: Partition, record: Any) -> None:
        self._tasks.pop(task, None)
        self._started.discard(task)
        if self._lanes.get(record.key) is task:
            del self._lanes[record.key]
        if task.cancelled():
            return  # not acted on: its offset stays uncommitted
        offset = self._marks.end(partition, record.offset)
        if offset is not None:
            self._to_commit[partition] = offset
            self._wake.set()

    async def _commit_when_woken(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            offsets, self._to_commit = self._to_commit, {}
            if not await self._commit(offsets):
                for partition, offset in offsets.items():
                    self._to_commit.setdefault(partition, offset)
                await asyncio.sleep(RETRY_SECONDS)
                self._wake.set()

    async def _commit(self, offsets: dict[Partition, int]) -> bool:
        """False when it should be tried again (the cluster is away)."""
        offsets = {p: o for p, o in offsets.items() if p in self._consumer.assignment()}
        if not offsets:
            return True
        try:
            await asyncio.wait_for(self._consumer.commit(offsets), timeout=COMMIT_SECONDS)
        except IllegalStateError:
            return True  # no longer ours: whoever has the partition now reads those again
        except (KafkaError, TimeoutError) as exc:
            log.warning("%s: commit failed (%r); retrying", self.topic, exc)
            return False
        return True

    async def revoked(self, partitions: set[Partition]) -> None:
        """Commits what is done in the partitions being taken away, while they are still ours."""
        await self._commit(self._marks.committable(partitions))

    def assigned(self, partitions: set[Partition]) -> None:
        """Forgets the partitions handed to another member, and drops their messages that have
        not begun (all of them with `drop_lost`): that member reads them again."""
        lost = self._marks.known() - partitions
        self._marks.forget(lost)
        self._drop_unbegun(lost)

    def _drop_unbegun(self, partitions: set[Partition] | None = None) -> None:
        """Cancels the messages (of `partitions`, or all) whose action has not begun, all of
        them with `drop_lost`: left uncommitted, they are read again by whoever reads next."""
        for task, partition in list(self._tasks.items()):
            if partitions is not None and partition not in partitions:
                continue
            if self._drop_lost or task not in self._started:
                task.cancel()

    async def stop(self, grace: float) -> None:
        """Stops fetching, lets running actions finish (up to `grace` seconds; cancelled at
        once with `drop_lost`), commits what is done and leaves the group."""
        self._stopping.set()
        self._drop_unbegun()
        if self._task is not None:
            if self._consumer is None:  # still joining: nothing was taken, nothing to commit
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._drop_unbegun()  # and those its last fetch brought
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        if self._consumer is None:
            return
        await self._commit(self._marks.committable(self._marks.known()))
        with contextlib.suppress(KafkaError, TimeoutError):
            await asyncio.wait_for(self._consumer.stop(), timeout=COMMIT_SECONDS)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: CommittingConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[Partition]) -> None:
        await self._owner.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[Partition]) -> None:
        self._owner.assigned(set(assigned))
