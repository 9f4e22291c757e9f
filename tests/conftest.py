from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixelpress.api.app import create_app
from pixelpress.bootstrap import Services, build_services
from pixelpress.settings import Settings
from tests import services as test_services


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "var",
        "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
        "rate_limit_default": 10_000,
        "rate_limit_login": 10_000,
        "rate_limit_upload": 10_000,
        "rate_limit_transform": 10_000,
        "job_sweep_seconds": 3600,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback, for the whole run."""
    yield from test_services.moto_server()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with build_services(settings) as built:
        yield built


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
