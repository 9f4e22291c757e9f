"""Each port's contract runs over every adapter of it. Production adapters join these lists as
they land; they need their real service (skipped with a reason unless required)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pixelpress.adapters.cache_memory import MemoryCache
from pixelpress.adapters.ratelimit_limits import LimitsRateLimiter
from pixelpress.adapters.sql.database import SqlDatabase
from pixelpress.adapters.sql.migrate import upgrade
from pixelpress.adapters.storage_obstore import ObstoreStorage
from pixelpress.ports import Cache, ObjectStorage, RateLimiter


@pytest.fixture(params=["local", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    if request.param == "local":
        return ObstoreStorage.from_url(f"file://{tmp_path / 'blobs'}")
    return ObstoreStorage.from_url("memory://")


@pytest.fixture(params=["memory"])
def cache(request: pytest.FixtureRequest) -> Cache:
    return MemoryCache()


@pytest.fixture(params=["memory"])
def rate_limiter(request: pytest.FixtureRequest) -> RateLimiter:
    return LimitsRateLimiter("memory://")


@pytest.fixture(params=["sqlite"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlDatabase]:
    db = SqlDatabase(f"sqlite:///{tmp_path / 'contract.db'}")
    await upgrade(db.engine)
    try:
        yield db
    finally:
        await db.close()
