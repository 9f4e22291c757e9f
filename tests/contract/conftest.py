"""Each port's contract runs over every adapter of it: the embedded one and the production one
against its real service (skipped with a reason unless PIXELPRESS_REQUIRE_SERVICES=1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from pixelpress.adapters.cache_memory import MemoryCache
from pixelpress.adapters.ratelimit_limits import LimitsRateLimiter
from pixelpress.adapters.sql.database import SqlDatabase
from pixelpress.adapters.sql.migrate import upgrade
from pixelpress.adapters.storage_obstore import ObstoreStorage, S3Options
from pixelpress.ports import Cache, ObjectStorage, RateLimiter
from tests import services

DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


@pytest.fixture(params=["local", "memory", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    if request.param == "local":
        return ObstoreStorage.local(tmp_path / "blobs")
    if request.param == "memory":
        return ObstoreStorage.memory()
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = services.make_bucket(endpoint)
    options = S3Options(endpoint, "us-east-1", "test", "test")
    return ObstoreStorage.s3(bucket, "prefix", options)


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    from pixelpress.adapters.cache_redis import RedisCache

    services.need("Redis")
    redis = RedisCache(services.REDIS_URL)
    try:
        yield redis
    finally:
        await redis.close()


@pytest.fixture(params=["memory", "redis"])
def rate_limiter(request: pytest.FixtureRequest) -> RateLimiter:
    if request.param == "redis":
        services.need("Redis")
        return LimitsRateLimiter.redis(services.REDIS_URL)
    return LimitsRateLimiter.memory()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlDatabase]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
    else:
        url = await services.fresh_postgres_database()
    db = SqlDatabase(make_url(url).set(drivername=f"{request.param}+{DRIVERS[request.param]}"))
    await upgrade(db.engine)
    try:
        yield db
    finally:
        await db.close()
        if request.param == "postgresql":
            await services.drop_postgres(url)
