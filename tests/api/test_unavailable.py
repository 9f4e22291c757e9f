"""A dependency going down mid-flight: 503 with Retry-After in the envelope, never a 500 or a
hang, and service again once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests import services
from tests.api.helpers import assert_error, register, running, upload
from tests.conftest import make_settings
from tests.proxy import CuttableProxy


@pytest.fixture
async def pg_proxy() -> AsyncIterator[tuple[CuttableProxy, str]]:
    url = await services.fresh_postgres_database()
    proxy = CuttableProxy("127.0.0.1", 5432)
    await proxy.start()
    try:
        yield proxy, url.replace(":5432/", f":{proxy.port}/")
    finally:
        await proxy.cut()
        await services.drop_postgres(url)


async def test_database_down_is_503_then_recovers(
    tmp_path: Path, pg_proxy: tuple[CuttableProxy, str]
) -> None:
    proxy, url = pg_proxy
    settings = make_settings(tmp_path, database_url=url)
    async with running(settings) as (_, client):
        headers = await register(client)
        assert (await client.get("/api/v1/images", headers=headers)).status_code == 200
        await proxy.cut()
        down = await client.get("/api/v1/images", headers=headers)
        body = assert_error(down, 503, "service_unavailable")
        assert body["details"] == {"dependency": "database"}
        assert int(down.headers["Retry-After"]) > 0
        ready = await client.get("/readyz")
        body = assert_error(ready, 503, "not_ready")
        assert body["details"]["dependency"] == "database"  # type: ignore[index]
        assert body["details"]["checks"]["database"] == "down"  # type: ignore[index]
        await proxy.start()  # back on the same port
        assert (await client.get("/api/v1/images", headers=headers)).status_code == 200
        assert (await client.get("/readyz")).status_code == 200


@pytest.fixture
async def redis_proxy() -> AsyncIterator[CuttableProxy]:
    services.need("Redis")
    proxy = CuttableProxy("127.0.0.1", 6379)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.cut()


async def test_while_redis_is_down_the_service_keeps_serving(
    tmp_path: Path, redis_proxy: CuttableProxy
) -> None:
    """Redis down is a degraded mode, not an outage: cache misses go to the database and storage,
    rate limits count per process, readiness says `degraded` naming the cache; only what must
    reach every process (purging a deleted or replaced image) waits for Redis, with a 503."""
    proxy = redis_proxy
    settings = make_settings(
        tmp_path,
        cache_url=f"redis://127.0.0.1:{proxy.port}/0",
        cache_prefix=f"t-{proxy.port}",
        rate_limit_transform=5,  # one goes on the owner render below
    )
    async with running(settings) as (_, client):
        headers = await register(client)
        image_id = (await upload(client, headers)).json()["imageId"]
        minted = await client.post(f"/api/v1/images/{image_id}/urls", json={}, headers=headers)
        signed = minted.json()["url"]
        assert (await client.get(signed)).status_code == 200  # cached in Redis now
        await proxy.cut()
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["cache"] == "down"
        assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
        hit = await client.get(signed)  # its record is out of reach: found again
        assert hit.status_code == 200 and hit.content
        render = await client.get(f"/api/v1/images/{image_id}/render?width=40", headers=headers)
        assert render.status_code == 200
        other = (await upload(client, headers)).json()["imageId"]
        # the limits still hold, counted in this process
        statuses = [
            (await client.post(f"/api/v1/images/{other}/transform", json={"rotate": r},
                               headers=headers)).status_code
            for r in (10, 20, 30, 40, 50)
        ]  # fmt: skip
        assert statuses[:4] == [202] * 4 and statuses[4] == 429
        # a delete must purge every process's cache: it waits for Redis
        gone = await client.delete(f"/api/v1/images/{image_id}", headers=headers)
        body = assert_error(gone, 503, "service_unavailable")
        assert body["details"] == {"dependency": "cache"}
        assert (await client.get(f"/api/v1/images/{image_id}", headers=headers)).status_code == 200
        await proxy.start()
        # The shared side is tried again after a moment; until then a delete still changes
        # nothing and answers 503, so asking again is safe.
        image_url = f"/api/v1/images/{image_id}"
        deadline = asyncio.get_running_loop().time() + 15
        while (deleted := await client.delete(image_url, headers=headers)).status_code == 503:
            assert asyncio.get_running_loop().time() < deadline, deleted.text
            assert (await client.get(image_url, headers=headers)).status_code == 200
            await asyncio.sleep(0.1)
        assert deleted.status_code == 204, deleted.text
        assert (await client.get(signed)).status_code == 404
        assert (await client.get("/readyz")).json()["status"] == "ready"


async def test_a_redis_restart_costs_no_request(tmp_path: Path, redis_proxy: CuttableProxy) -> None:
    """Pooled connections die with a restart; each is retried on a fresh one, so no request
    sees it (before, each pooled connection failed one request with a 503)."""
    proxy = redis_proxy
    settings = make_settings(
        tmp_path, cache_url=f"redis://127.0.0.1:{proxy.port}/0", cache_prefix=f"r-{proxy.port}"
    )
    async with running(settings) as (_, client):
        headers = await register(client)
        image_id = (await upload(client, headers)).json()["imageId"]
        minted = await client.post(f"/api/v1/images/{image_id}/urls", json={}, headers=headers)
        signed = minted.json()["url"]

        async def burst() -> list[int]:
            answers = await asyncio.gather(
                *(client.get(signed) for _ in range(8)),
                *(client.get("/api/v1/auth/me", headers=headers) for _ in range(8)),
            )
            return [a.status_code for a in answers]

        assert set(await burst()) == {200}  # several pooled connections in use
        for _ in range(3):
            await proxy.bounce()
            assert set(await burst()) == {200}
        ready = (await client.get("/readyz")).json()
        assert ready["status"] == "ready"
