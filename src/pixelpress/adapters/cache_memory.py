"""A bounded in-memory TTL cache for the embedded default.

Hand-written (about thirty lines) rather than cachetools: we need a TTL per entry and a bound on
bytes held, which TTLCache (one TTL for all) does not give."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict


class MemoryCache:
    def __init__(self, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_bytes = max_bytes
        self._bytes = 0
        self._released: dict[str, asyncio.Event] = {}

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, *, ttl: int) -> None:
        self._drop(key)
        if len(value) > self._max_bytes:
            return
        self._entries[key] = (time.monotonic() + ttl, value)
        self._bytes += len(value)
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    async def add(self, key: str, value: bytes, *, ttl: int) -> bool:
        # No await between the check and the set: atomic on one event loop.
        if await self.get(key) is not None:
            return False
        await self.set(key, value, ttl=ttl)
        return True

    async def delete(self, key: str) -> None:
        self._drop(key)

    async def release(self, key: str) -> None:
        self._drop(key)
        waiting = self._released.pop(key, None)
        if waiting is not None:
            waiting.set()

    async def wait_released(self, key: str, *, within: float) -> None:
        if await self.get(key) is None:
            return
        waiting = self._released.setdefault(key, asyncio.Event())
        with contextlib.suppress(TimeoutError):  # expired rather than released: look again
            await asyncio.wait_for(waiting.wait(), within)

    async def delete_prefix(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            self._drop(key)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[1])
