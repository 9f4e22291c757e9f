"""RateLimiter over the `limits` library (moving window): memory or Redis storage."""

from __future__ import annotations

import math
import time
from typing import Any

from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from pixelpress.domain.errors import Unavailable
from pixelpress.ports import RateLimitResult


class LimitsRateLimiter:
    def __init__(self, url: str, *, prefix: str = "pixelpress") -> None:
        # "memory://" -> "async+memory://", "redis://h" -> "async+redis://h"
        url = url if url.startswith("async+") else f"async+{url}"
        options: dict[str, Any] = {}
        if "redis" in url.split("://")[0]:
            from pixelpress.adapters.cache_redis import CONNECTION_OPTIONS

            options = {
                "implementation": "redispy",
                "key_prefix": f"{prefix}:limits",
                **CONNECTION_OPTIONS,
            }
        self._storage = storage_from_string(url, **options)
        self._limiter = MovingWindowRateLimiter(self._storage)

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
