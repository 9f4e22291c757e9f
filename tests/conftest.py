from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings

from pixelpress.api.app import create_app
from pixelpress.bootstrap import Services, build_services
from pixelpress.settings import Settings
from tests import services as test_services
from tests.kafka import Tansu

# Property tests: the same examples on every run (a landing never hangs on a new random draw);
# `HYPOTHESIS_PROFILE=explore pytest tests/unit/test_grammar_properties.py` looks further.
settings.register_profile("default", derandomize=True, deadline=None, max_examples=400)
settings.register_profile("explore", deadline=None, max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "var",
        "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
        "rate_limit_default": 10_000,
        "rate_limit_login": 10_000,
        "rate_limit_login_account": 10_000,
        "rate_limit_render": 10_000,
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


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    """Tansu (a Kafka-protocol broker) on loopback, storing in memory, for the whole run."""
    broker = Tansu(tmp_path_factory.mktemp("tansu") / "tansu.log").start()
    yield broker
    broker.stop()


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
