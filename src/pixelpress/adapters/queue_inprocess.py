"""TaskQueue inside this process (the embedded default): ids wait in an asyncio queue for a fixed
number of consumers, so each queue has its own slots (a slow webhook never holds a render's).

Written by hand rather than over taskiq's InMemoryBroker, which runs every message at once (no
bound on concurrency) and ignores delays. Nothing survives a restart here, and nothing needs to:
the database is the truth about work, and start-up publishes again whatever was left."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pixelpress.ports import Handler

log = logging.getLogger(__name__)
STOP_SECONDS = 30.0


class InProcessQueue:
    def __init__(self, *, name: str, concurrency: int) -> None:
        self.name = name
        self._concurrency = concurrency
        self._items: asyncio.Queue[str] = asyncio.Queue()
        self._consumers: list[asyncio.Task[None]] = []
        self._delayed: set[asyncio.Task[None]] = set()
        self._running: set[asyncio.Task[None]] = set()
        self._open = 0
        """Items published and not yet handled (waiting or running)."""
        self._settled = asyncio.Event()
        self._settled.set()

    async def start(self, handler: Handler | None) -> None:
        if handler is None:
            return
        self._consumers = [
            asyncio.create_task(self._consume(handler), name=f"{self.name}-{n}")
            for n in range(self._concurrency)
        ]

    async def _consume(self, handler: Handler) -> None:
        while True:
            item = await self._items.get()
            run = asyncio.create_task(self._handle(handler, item))
            self._running.add(run)
            run.add_done_callback(self._running.discard)
            # Shielded: stopping the consumer lets the item it runs finish (see `stop`).
            await asyncio.shield(run)

    async def _handle(self, handler: Handler, item: str) -> None:
        try:
            await handler(item)
        except Exception:  # the handler records outcomes; an escape is a bug, not a stop
            log.exception("%s: handling %s failed", self.name, item)
        finally:
            self._open -= 1
            if self._open == 0:
                self._settled.set()

    def _put(self, item_id: str) -> None:
        self._open += 1
        self._settled.clear()
        self._items.put_nowait(item_id)

    async def publish(self, item_id: str, *, delay: float = 0, key: str | None = None) -> None:
        if delay <= 0:
            self._put(item_id)
            return
        later = asyncio.create_task(self._later(item_id, delay))
        self._delayed.add(later)
        later.add_done_callback(self._delayed.discard)

    async def _later(self, item_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._put(item_id)

    async def dead_letter(self, item_id: str, reason: str) -> None:
        log.warning("%s: %s failed for good: %s", self.name, item_id, reason)

    async def ping(self) -> None:
        return

    async def stop(self) -> None:
        """Takes nothing more, lets what runs finish (for up to `STOP_SECONDS`), then cuts the
        rest short: a job cut short stays `processing` and the next start takes it again."""
        for task in [*self._delayed, *self._consumers]:
            task.cancel()
        for task in [*self._delayed, *self._consumers]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._running:
            await asyncio.wait(self._running, timeout=STOP_SECONDS)
        for task in list(self._running):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def idle(self) -> bool:
        return not self._delayed and self._open == 0

    async def drain(self) -> None:
        """Waits until nothing is waiting, delayed or running here (tests use it)."""
        while not self.idle:
            if self._delayed:
                await asyncio.gather(*self._delayed, return_exceptions=True)
            await self._settled.wait()
