"""A Cache that keeps the process's hot entries (`usecases.hot`) true to the shared cache: every
delete and purge drops the matching hot entries here at once, and a purge is announced to every
process on the same cache, which clears its hot entries when it hears of it.

The announcement reuses the port's lock wake-up (`release` / `wait_released`) on one key that
every process watches: on Redis that is a pub/sub message, so another process forgets a purged
image within milliseconds. An announcement can be missed (a watcher between two waits, Redis
restarting); the hot entries' TTL bounds what that leaves behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Cache

logger = logging.getLogger(__name__)
PURGED = "hot-purged"
"""The key whose release announces a purge to every process."""
WATCH_SECONDS = 30.0


class Droppable(Protocol):
    def drop(self, key: str) -> None: ...
    def drop_prefix(self, prefix: str) -> None: ...
    def clear(self) -> None: ...


class InvalidatingCache:
    def __init__(self, inner: Cache, hot: Droppable) -> None:
        self._inner = inner
        self._hot = hot

    async def get(self, key: str) -> bytes | None:
        return await self._inner.get(key)

    async def set(self, key: str, value: bytes, *, ttl: int) -> None:
        await self._inner.set(key, value, ttl=ttl)

    async def add(self, key: str, value: bytes, *, ttl: int) -> bool:
        return await self._inner.add(key, value, ttl=ttl)

    async def delete(self, key: str) -> None:
        self._hot.drop(key)
        await self._inner.delete(key)
        self._hot.drop(key)  # and what a concurrent read put back meanwhile

    async def release(self, key: str) -> None:
        await self._inner.release(key)

    async def wait_released(self, key: str, *, within: float) -> None:
        await self._inner.wait_released(key, within=within)

    async def delete_prefix(self, prefix: str) -> None:
        self._hot.drop_prefix(prefix)
        await self._inner.delete_prefix(prefix)
        self._hot.drop_prefix(prefix)
        try:
            await self._inner.release(PURGED)  # every other process: forget yours
        except Unavailable:  # the purge is done; the TTL bounds what the others keep
            logger.warning("Could not announce a purge to other processes")

    async def ping(self) -> None:
        await self._inner.ping()

    async def close(self) -> None:
        await self._inner.close()

    async def _watch(self) -> None:
        """Clears the hot entries at every announced purge (and, harmlessly, every
        WATCH_SECONDS). The key is set before the entries are cleared and the wait begins:
        a purge announced before the set is covered by the clear, one after it ends the wait
        (`wait_released` returns at once when the key is missing)."""
        while True:
            try:
                await self._inner.add(PURGED, b"1", ttl=24 * 3600)
                self._hot.clear()
                await self._inner.wait_released(PURGED, within=WATCH_SECONDS)
            except Unavailable:
                await asyncio.sleep(1)  # the cache is down: the TTL bounds what we keep
            except Exception:
                logger.exception("Watching for purges failed; trying again")
                await asyncio.sleep(1)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Listens for other processes' purges while the block runs."""
        task = asyncio.create_task(self._watch(), name="hot-entries-invalidation")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
