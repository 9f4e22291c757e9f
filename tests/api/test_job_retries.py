"""A dependency down while a job runs: retried with back-off, finished once it is back; failed
with its reason when the attempts run out. Never stuck."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from pixelpress.api.app import create_app
from pixelpress.bootstrap import Services, build_services
from pixelpress.domain.models import Job, JobStatus
from tests import services
from tests.api.helpers import register, upload
from tests.conftest import make_settings
from tests.proxy import CuttableProxy


@pytest.fixture
async def s3_proxy(s3_endpoint: str) -> AsyncIterator[tuple[CuttableProxy, str]]:
    target = urlparse(s3_endpoint)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 80)
    await proxy.start()
    try:
        yield proxy, services.make_bucket(s3_endpoint)
    finally:
        await proxy.cut()


async def job_of(built: Services, job_id: str) -> Job:
    async with built.db.unit_of_work() as uow:
        job = await uow.jobs.get(job_id)
    assert job is not None
    return job


async def wait_for(
    built: Services, job_id: str, done: Callable[[Job], bool], timeout: float = 20
) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = await job_of(built, job_id)
        if done(job):
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def job_with_storage_down(
    tmp_path: Path, proxy: CuttableProxy, bucket: str, **overrides: object
) -> AsyncIterator[tuple[Services, str]]:
    """A service on S3 behind `proxy`; an image uploaded, then storage cut, then a job asked."""
    settings = make_settings(
        tmp_path,
        storage_url=f"s3://{bucket}/data",
        s3_endpoint_url=f"http://127.0.0.1:{proxy.port}",
        s3_access_key_id="test",
        s3_secret_access_key="test",
        job_retry_base_seconds=0.2,
        **overrides,
    )
    async with build_services(settings) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            image_id = (await upload(client, headers)).json()["imageId"]
            await proxy.cut()  # storage goes down before the job reads the original
            r = await client.post(
                f"/api/v1/images/{image_id}/transform", json={"rotate": 90}, headers=headers
            )
            assert r.status_code == 202, r.text
            yield built, r.json()["jobId"]


async def test_transient_failures_are_retried_then_finish(
    tmp_path: Path, s3_proxy: tuple[CuttableProxy, str]
) -> None:
    proxy, bucket = s3_proxy
    async with job_with_storage_down(tmp_path, proxy, bucket, job_max_attempts=10) as (
        built,
        job_id,
    ):
        retried = await wait_for(built, job_id, lambda j: j.attempts >= 2)
        assert retried.error == "Object storage is unavailable."
        await proxy.start()
        done = await wait_for(built, job_id, lambda j: j.status.finished)
        assert done.status is JobStatus.PROCESSED
        assert done.error is None
        assert done.attempts >= 2


async def test_the_last_attempt_fails_the_job_with_its_reason(
    tmp_path: Path, s3_proxy: tuple[CuttableProxy, str]
) -> None:
    proxy, bucket = s3_proxy
    async with job_with_storage_down(tmp_path, proxy, bucket, job_max_attempts=2) as (
        built,
        job_id,
    ):
        done = await wait_for(built, job_id, lambda j: j.status.finished)
        assert done.status is JobStatus.FAILED
        assert done.attempts == 2
        assert done.error == "Object storage is unavailable."


def test_back_off_doubles_and_is_capped(services: Services) -> None:
    runner = replace(services.runner, retry_base_seconds=2)
    assert [runner.retry_delay(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert runner.retry_delay(20) == 300
