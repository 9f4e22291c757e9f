from __future__ import annotations

import asyncio
import uuid

from pixelpress.ports import RateLimiter


async def test_allows_up_to_the_limit_then_refuses(rate_limiter: RateLimiter) -> None:
    key = uuid.uuid4().hex
    results = [await rate_limiter.hit("t", key, limit=3, per_seconds=60) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.remaining for r in results[:3]] == [2, 1, 0]
    assert all(r.limit == 3 for r in results)
    assert 0 < results[-1].reset_after <= 60


async def test_buckets_and_keys_are_separate(rate_limiter: RateLimiter) -> None:
    key = uuid.uuid4().hex
    assert (await rate_limiter.hit("a", key, limit=1, per_seconds=60)).allowed
    assert (await rate_limiter.hit("b", key, limit=1, per_seconds=60)).allowed
    assert (await rate_limiter.hit("a", key + "x", limit=1, per_seconds=60)).allowed
    assert not (await rate_limiter.hit("a", key, limit=1, per_seconds=60)).allowed


async def test_atomic_under_concurrency(rate_limiter: RateLimiter) -> None:
    key = uuid.uuid4().hex
    results = await asyncio.gather(
        *(rate_limiter.hit("c", key, limit=10, per_seconds=60) for _ in range(30))
    )
    assert sum(r.allowed for r in results) == 10
