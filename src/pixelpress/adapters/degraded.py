"""What the shared cache and the shared rate limits do while Redis is down: Pixelpress keeps
serving, each process on its own, and goes back to sharing as soon as Redis answers again.

- Cache reads, writes and locks use this process's memory: records are found again through the
  database and storage, a render lock holds within the process only (a variant may then be
  rendered once per process rather than once in all; renders are idempotent), and once-a-window
  marks (a rate-limit block's log entry) are kept per process.
- Purges (`delete_prefix`) still need Redis: every process must forget a deleted or replaced
  image, so deleting or replacing one answers 503 until Redis is back rather than leave other
  processes serving what was removed. (So nothing cached locally while Redis is down can go
  stale: what is cached in memory then is dropped as soon as Redis answers again.)
- Rate limits count per process (each process applies the whole limit to what it sees).

After a failure the shared side is left alone for a moment (`RETRY_SECONDS`), so an outage costs
each request nothing more than a memory lookup."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pixelpress.adapters.cache_memory import MemoryCache
from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Cache, RateLimiter, RateLimitResult

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_SECONDS = 2.0


class Breaker:
    """Whether the shared side is worth asking now, and which side answered last."""

    def __init__(self, name: str, *, on_recovery: Callable[[], None] | None = None) -> None:
        self._name = name
        self._down_until = 0.0
        self._down = False
        self._on_recovery = on_recovery

    @property
    def down(self) -> bool:
        return self._down

    async def call(
        self, shared: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]
    ) -> T:
        if time.monotonic() < self._down_until:
            return await local()
        try:
            result = await shared()
        except Unavailable:
            if not self._down:
                log.warning("%s: Redis does not answer; working on this process alone", self._name)
            self._down = True
            self._down_until = time.monotonic() + RETRY_SECONDS
            return await local()
        if self._down:
            log.warning("%s: Redis answers again; shared once more", self._name)
            self._down = False
            if self._on_recovery is not None:
                self._on_recovery()
        return result


class DegradedCache:
    """A shared Cache, with this process's memory standing in while it is down."""

    def __init__(self, shared: Cache) -> None:
        self._shared = shared
        self._local = MemoryCache()
        self._breaker = Breaker("cache", on_recovery=self._forget_local)

    def _forget_local(self) -> None:
        self._local = MemoryCache()

    async def get(self, key: str) -> bytes | None:
        return await self._breaker.call(lambda: self._shared.get(key), lambda: self._local.get(key))

    async def set(self, key: str, value: bytes, *, ttl: int) -> None:
        await self._breaker.call(
            lambda: self._shared.set(key, value, ttl=ttl),
            lambda: self._local.set(key, value, ttl=ttl),
        )

    async def add(self, key: str, value: bytes, *, ttl: int) -> bool:
        return await self._breaker.call(
            lambda: self._shared.add(key, value, ttl=ttl),
            lambda: self._local.add(key, value, ttl=ttl),
        )

    async def delete(self, key: str) -> None:
        await self._local.delete(key)  # a lock this process took while Redis was away
        await self._breaker.call(lambda: self._shared.delete(key), _nothing)

    async def release(self, key: str) -> None:
        await self._local.release(key)
        await self._breaker.call(lambda: self._shared.release(key), _nothing)

    async def wait_released(self, key: str, *, within: float) -> None:
        await self._breaker.call(
            lambda: self._shared.wait_released(key, within=within),
            lambda: self._local.wait_released(key, within=within),
        )

    async def delete_prefix(self, prefix: str) -> None:
        await self._shared.delete_prefix(prefix)  # must reach every process: see the docstring
        await self._local.delete_prefix(prefix)

    async def ping(self) -> None:
        await self._shared.ping()

    async def close(self) -> None:
        await self._shared.close()


async def _nothing() -> None:
    return None


class DegradedRateLimiter:
    """Shared rate limits, counted per process while the shared storage is down."""

    def __init__(self, shared: RateLimiter, local: RateLimiter) -> None:
        self._shared = shared
        self._local = local
        self._breaker = Breaker("rate limits")

    async def hit(self, bucket: str, key: str, *, limit: int, per_seconds: int) -> RateLimitResult:
        return await self._breaker.call(
            lambda: self._shared.hit(bucket, key, limit=limit, per_seconds=per_seconds),
            lambda: self._local.hit(bucket, key, limit=limit, per_seconds=per_seconds),
        )
