from __future__ import annotations

import asyncio

from pixelpress.adapters.cache_redis import RedisCache
from pixelpress.adapters.ratelimit_limits import LimitsRateLimiter
from pixelpress.ports import Cache
from tests import services
from tests.proxy import CuttableProxy


async def test_set_get_delete(cache: Cache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"v", ttl=60)
    assert await cache.get("k") == b"v"
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_entries_expire(cache: Cache) -> None:
    await cache.set("short", b"v", ttl=1)
    await asyncio.sleep(1.2)
    assert await cache.get("short") is None


async def test_delete_prefix(cache: Cache) -> None:
    await cache.set("images/1/a", b"1", ttl=60)
    await cache.set("images/1/b", b"2", ttl=60)
    await cache.set("images/2/a", b"3", ttl=60)
    await cache.delete_prefix("images/1/")
    assert await cache.get("images/1/a") is None
    assert await cache.get("images/1/b") is None
    assert await cache.get("images/2/a") == b"3"


def test_memory_cache_is_bounded() -> None:
    from pixelpress.adapters.cache_memory import MemoryCache

    async def fill() -> MemoryCache:
        bounded = MemoryCache(max_bytes=100)
        for i in range(20):
            await bounded.set(f"k{i}", b"x" * 10, ttl=60)
        return bounded

    bounded = asyncio.run(fill())
    kept = [k for k in (f"k{i}" for i in range(20)) if asyncio.run(bounded.get(k)) is not None]
    assert kept == [f"k{i}" for i in range(10, 20)]  # the oldest went first


async def test_add_sets_only_when_absent(cache: Cache) -> None:
    import uuid

    key = f"lock-{uuid.uuid4().hex}"
    results = await asyncio.gather(*(cache.add(key, b"x", ttl=60) for _ in range(10)))
    assert results.count(True) == 1
    await cache.delete(key)
    assert await cache.add(key, b"y", ttl=60)
    assert await cache.get(key) == b"y"


async def test_redis_restarts_cost_no_command() -> None:
    """Every pooled connection dies with a Redis restart; the next command on each is retried
    on a fresh connection instead of failing (the limiter shares these connection options)."""
    services.need("Redis")

    proxy = CuttableProxy("127.0.0.1", 6379)
    await proxy.start()
    redis = RedisCache(f"redis://127.0.0.1:{proxy.port}/0", prefix=f"bounce-{proxy.port}")
    limiter = LimitsRateLimiter.redis(f"redis://127.0.0.1:{proxy.port}/0", prefix=f"b-{proxy.port}")
    try:
        await asyncio.gather(*(redis.set(f"k{n}", b"v", ttl=30) for n in range(6)))
        await asyncio.gather(
            *(limiter.hit("b", f"k{n}", limit=9, per_seconds=60) for n in range(6))
        )
        for _ in range(2):
            await proxy.bounce()
            got = await asyncio.gather(*(redis.get(f"k{n}") for n in range(6)))
            assert got == [b"v"] * 6
            hits = await asyncio.gather(
                *(limiter.hit("b", f"k{n}", limit=9, per_seconds=60) for n in range(6))
            )
            assert all(h.allowed for h in hits)
    finally:
        await redis.close()
        await proxy.cut()


async def test_a_released_lock_wakes_whoever_waits(cache: Cache) -> None:
    """A render lock's waiters wake when it is released (on Redis through pub/sub, so across
    processes), not on a polling tick; a missing key needs no wait at all."""
    import time

    await cache.wait_released("lock/none", within=5)  # nothing held: at once
    assert await cache.add("lock/a", b"1", ttl=30)
    woke: list[float] = []

    async def waiter() -> None:
        await cache.wait_released("lock/a", within=10)
        woke.append(time.monotonic())

    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.2)
    assert woke == []  # still held
    released = time.monotonic()
    await cache.release("lock/a")
    await asyncio.wait_for(waiting, 5)
    assert woke[0] - released < 2
    assert await cache.get("lock/a") is None
    assert await cache.add("lock/a", b"1", ttl=30)  # free again
    await cache.release("lock/a")
