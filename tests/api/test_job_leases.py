"""Claims are leased and the running worker renews its lease: a job whose worker died is taken
again as soon as the lease ends, a live one never is, and a job that kills every worker that
runs it fails as `worker_crashed` after its last allowed attempt instead of looping forever."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from pixelpress.api.app import create_app
from pixelpress.bootstrap import Services, build_services
from pixelpress.domain.models import ClaimOutcome, JobStatus, VariantStatus
from pixelpress.domain.spec import parse_spec
from pixelpress.usecases.jobs import run_job
from pixelpress.usecases.transforms import queue_variant
from tests.api.helpers import drain, register, running, upload
from tests.api.test_job_retries import job_of
from tests.conftest import make_settings
from tests.images import photo

SLOW = {"rotate": 33, "filters": {"blur": 20}, "format": "avif", "quality": 90}


async def queued_job(built: Services, image_id: str, spec: dict[str, Any]) -> str:
    """A job committed and never published (as if its worker had not come yet)."""
    async with built.db.unit_of_work() as uow:
        image = await uow.images.get(image_id)
        assert image is not None
        user = await uow.users.get(image.owner_id)
        assert user is not None
        queued = await queue_variant(
            uow, image, parse_spec(spec), user=user, clock=built.clock, limits=built.api.limits
        )
        await uow.commit()
    assert queued.job is not None
    return queued.job.id


async def test_a_job_that_killed_its_worker_every_time_fails_as_worker_crashed(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, job_max_attempts=3)
    async with running(settings) as (built, client):
        headers = await register(client)
        image_id = (await upload(client, headers)).json()["imageId"]
        job_id = await queued_job(built, image_id, {"rotate": 90})
        past = built.clock.now() - timedelta(hours=1)
        for n in range(3):  # three workers took it and died: their leases ended unrenewed
            now = past + timedelta(minutes=n)
            async with built.db.unit_of_work() as uow:
                got = await uow.jobs.claim(
                    job_id, now=now, lease_until=now + timedelta(seconds=20), max_attempts=3
                )
                assert got.outcome is ClaimOutcome.CLAIMED
                await uow.commit()
        assert await run_job(job_id, runner=built.runner) is JobStatus.FAILED
        job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
        assert job["status"] == "failed"
        assert job["code"] == "worker_crashed"
        assert job["attempts"] == 3
        status = (await client.get(f"/api/v1/images/{image_id}/status", headers=headers)).json()
        assert status["jobs"][0]["code"] == "worker_crashed"
        image = (await client.get(f"/api/v1/images/{image_id}", headers=headers)).json()
        assert image["variants"][0]["status"] == VariantStatus.FAILED
        logs = (await client.get("/api/v1/logs?level=error", headers=headers)).json()
        assert any(e["context"]["code"] == "worker_crashed" for e in logs["items"])
        assert await run_job(job_id, runner=built.runner) is None  # and it stays failed


async def test_failed_jobs_carry_a_code(tmp_path: Path) -> None:
    async with build_services(make_settings(tmp_path)) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            image_id = (await upload(client, headers)).json()["imageId"]
            mark_id = (await upload(client, headers, photo(50, 50))).json()["imageId"]
            job_id = await queued_job(built, image_id, {"watermark": {"image": mark_id}})
            await client.delete(f"/api/v1/images/{mark_id}", headers=headers)
            assert await run_job(job_id, runner=built.runner) is JobStatus.FAILED
            job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
            assert job["status"] == "failed" and job["code"] == "watermark_not_found", job


async def test_a_live_lease_is_renewed_and_never_taken(tmp_path: Path) -> None:
    """A render longer than several leases: the heartbeat keeps it, so a second delivery of the
    same job (RabbitMQ redelivers, the sweep republishes) finds it BUSY and does not run it."""
    settings = make_settings(tmp_path, job_lease_seconds=0.6)
    async with running(settings) as (built, client):
        headers = await register(client)
        image_id = (await upload(client, headers, photo(2400, 1800))).json()["imageId"]
        await drain(built)  # the rendition
        r = await client.post(f"/api/v1/images/{image_id}/transform", json=SLOW,
                              headers=headers)  # fmt: skip
        job_id = r.json()["jobId"]
        while (await job_of(built, job_id)).status is JobStatus.QUEUED:
            await asyncio.sleep(0.01)
        duplicates = 0
        while (job := await job_of(built, job_id)).status is JobStatus.PROCESSING:
            assert await run_job(job_id, runner=built.runner) is None
            duplicates += 1
            await asyncio.sleep(0.3)
        assert job.status is JobStatus.PROCESSED and job.attempts == 1
        assert duplicates >= 3, "the render should outlast several leases"
        await drain(built)
        assert (await job_of(built, job_id)).attempts == 1
