"""RateLimiter over the `limits` library (moving window): memory or Redis storage."""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from pixelpress.domain.errors import Unavailable
from pixelpress.ports import RateLimitResult


class LimitsRateLimiter:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    @classmethod
    def memory(cls) -> LimitsRateLimiter:
        """Counted in this process's memory."""
        return cls(MemoryStorage())

    @classmethod
    def redis(cls, url: str, *, prefix: str = "pixelpress") -> LimitsRateLimiter:
        """Counted in Redis at `url` (`redis://` or `rediss://`), shared by every process, under
        `{prefix}:limits`."""
        from pixelpress.adapters.cache_redis import CONNECTION_OPTIONS

        storage = RedisStorage(
            f"async+{url}",
            implementation="redispy",
            key_prefix=f"{prefix}:limits",
            **CONNECTION_OPTIONS,
        )
        return cls(storage)

    async def hit(self, bucket: str, key: str, *, limit: int, per_seconds: int) -> RateLimitResult:
        item = RateLimitItemPerSecond(limit, per_seconds, namespace=bucket)
        try:
            allowed = await self._limiter.hit(item, key)
            stats = await self._limiter.get_window_stats(item, key)
        except Exception as exc:  # the storage's client errors: redis-py's are not OSErrors
            raise Unavailable("The rate limiter is unavailable.", dependency="cache") from exc
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        return RateLimitResult(
            allowed=allowed, limit=limit, remaining=stats.remaining, reset_after=reset_after
        )
