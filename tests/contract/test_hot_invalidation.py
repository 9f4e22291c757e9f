"""Hot entries in front of the shared cache (usecases/hot.py, adapters/cache_invalidating.py):
deletes and purges drop them in the process that makes them at once, and in every other process
on the same cache when the announcement arrives. "Processes" here are two caches with hot
entries of their own over one memory cache, or over two connections to one Redis."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from pixelpress.adapters.cache_invalidating import InvalidatingCache
from pixelpress.adapters.cache_memory import MemoryCache
from pixelpress.ports import Cache
from pixelpress.usecases.hot import HotEntries
from tests import services

Pair = tuple[Cache, Cache]


@pytest.fixture(params=["memory", "redis"])
async def shared(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """Two clients of one cache, as two processes would hold."""
    if request.param == "memory":
        one = MemoryCache()
        yield one, one
        return
    from pixelpress.adapters.cache_redis import RedisCache

    services.need("Redis")
    prefix = f"test-{uuid.uuid4().hex[:12]}"  # announcements of other test runs stay out
    first, second = (
        RedisCache(services.REDIS_URL, prefix=prefix),
        RedisCache(services.REDIS_URL, prefix=prefix),
    )
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def hot_entries() -> HotEntries[bytes]:
    return HotEntries(max_entries=100, max_bytes=1 << 20, ttl=60)


async def cleared(hot: HotEntries[bytes]) -> bool:
    """Whether `hot` is empty once the announcement has had its chance to arrive (a bounded
    number of turns of the loop: no clock in the assertion)."""
    for _ in range(500):
        if not len(hot):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_purge_drops_hot_entries_here_at_once_and_elsewhere_soon(shared: Pair) -> None:
    here_hot, there_hot = hot_entries(), hot_entries()
    here = InvalidatingCache(shared[0], here_hot)
    there = InvalidatingCache(shared[1], there_hot)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(here.watching())
        await stack.enter_async_context(there.watching())
        await asyncio.sleep(0.05)  # both watchers are waiting (not asserted: only a head start)
        here_hot.put("images/1/served/a", b"old", size=3)
        here_hot.put("images/2/served/a", b"kept", size=4)
        there_hot.put("images/1/served/a", b"old", size=3)
        await here.delete_prefix("images/1/")
        assert here_hot.get("images/1/served/a") is None  # at once, in the purging process
        assert await cleared(there_hot)  # and in the other, when it hears of it


async def test_deletes_drop_the_hot_entry(shared: Pair) -> None:
    hot = hot_entries()
    cache = InvalidatingCache(shared[0], hot)
    hot.put("images/1/served/a", b"old", size=3)
    hot.put("images/1/served/b", b"kept", size=4)
    await cache.delete("images/1/served/a")
    assert hot.get("images/1/served/a") is None
    assert hot.get("images/1/served/b") == b"kept"
