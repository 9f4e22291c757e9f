"""A dependency going down mid-flight: 503 with Retry-After in the envelope, never a 500 or a
hang, and service again once it is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pixelpress.api.app import create_app
from pixelpress.bootstrap import build_services
from tests import services
from tests.api.helpers import assert_error, register
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
    async with build_services(settings) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            assert (await client.get("/api/v1/images", headers=headers)).status_code == 200
            await proxy.cut()
            down = await client.get("/api/v1/images", headers=headers)
            body = assert_error(down, 503, "service_unavailable")
            assert body["details"] == {"dependency": "database"}
            assert int(down.headers["Retry-After"]) > 0
            ready = await client.get("/readyz")
            body = assert_error(ready, 503, "not_ready")
            assert body["details"] == {"dependency": "database"}
            await proxy.start()  # back on the same port
            assert (await client.get("/api/v1/images", headers=headers)).status_code == 200
            assert (await client.get("/readyz")).status_code == 200


async def test_cache_down_is_503_then_recovers(tmp_path: Path) -> None:
    services.need("Redis")
    proxy = CuttableProxy("127.0.0.1", 6379)
    await proxy.start()
    settings = make_settings(
        tmp_path, cache_url=f"redis://127.0.0.1:{proxy.port}/0", cache_prefix=f"t-{proxy.port}"
    )
    try:
        async with build_services(settings) as built:
            transport = httpx.ASGITransport(app=create_app(services=built))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                headers = await register(client)
                await proxy.cut()
                down = await client.get("/api/v1/auth/me", headers=headers)
                body = assert_error(down, 503, "service_unavailable")
                assert body["details"] == {"dependency": "cache"}
                assert "Retry-After" in down.headers
                body = assert_error(await client.get("/readyz"), 503, "not_ready")
                assert body["details"] == {"dependency": "cache"}
                await proxy.start()
                assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    finally:
        await proxy.cut()
