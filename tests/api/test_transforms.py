from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pyvips

from pixelpress.bootstrap import Services, build_services
from pixelpress.domain.models import JobStatus
from pixelpress.domain.spec import parse_spec
from pixelpress.settings import Settings
from pixelpress.usecases.jobs import run_job
from pixelpress.usecases.transforms import queue_variant
from tests.api.helpers import assert_error, drain, register, upload
from tests.api.test_images import stored_files
from tests.conftest import make_settings
from tests.images import photo

WALK_SPEC = {
    "transformations": {
        "resize": {"width": 300},
        "filters": {"grayscale": True},
        "format": "webp",
    }
}


async def fetch_download(
    client: httpx.AsyncClient, headers: dict[str, str], image_id: str
) -> bytes:
    r = await client.get(f"/api/v1/images/{image_id}/download", headers=headers)
    assert r.status_code == 200, r.text
    url = r.json()["downloadUrl"]
    assert "/files/" in url and "signature=" in url
    got = await client.get(url)  # no auth: the signature is the permission
    assert got.status_code == 200, got.text
    return got.content


async def test_transform_walk_gives_a_grayscale_webp(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    r = await client.post(f"/api/v1/images/{image_id}/transform", json=WALK_SPEC, headers=headers)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["message"] == f"Processing started for image {image_id}."
    assert body["statusUrl"] == f"/api/v1/images/{image_id}/status"
    await drain(services)
    status = (await client.get(body["statusUrl"], headers=headers)).json()
    assert status["status"] == "processed"
    assert status["jobs"][0]["status"] == "processed"
    assert status["jobs"][0]["finished_at"] is not None
    job = (await client.get(f"/api/v1/jobs/{body['jobId']}", headers=headers)).json()
    assert job["variantId"] == body["variantId"]
    data = await fetch_download(client, headers, image_id)
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    out = pyvips.Image.new_from_buffer(data, "")
    assert (out.width, out.height) == (300, 225)
    r_, g, b = out.getpoint(150, 100)[:3] if out.bands >= 3 else [out.getpoint(150, 100)[0]] * 3
    assert r_ == g == b
    # the same canonical spec again, in another form: 200 with the existing variant
    again = await client.post(
        f"/api/v1/images/{image_id}/process",
        json={"resize": "300x", "filter": "grayscale", "format": "webp"},
        headers=headers,
    )
    assert again.status_code == 200, again.text
    assert again.json()["variantId"] == body["variantId"]
    assert again.json()["jobId"] is None


async def test_download_link_is_signed_and_expires(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    none_yet = await client.get(f"/api/v1/images/{image_id}/download", headers=headers)
    body = assert_error(none_yet, 404, "variant_not_available")
    assert body["error"] == "Processed image not available."
    r = await client.get(f"/api/v1/images/{image_id}/download?variant=original", headers=headers)
    url = r.json()["downloadUrl"]
    assert (await client.get(url)).content == photo()
    tampered = url.replace("original", "original2")
    assert_error(await client.get(tampered), 403, "invalid_signature")
    expired = url.split("&expires=")[0] + "&expires=1&signature=" + url.split("signature=")[1]
    assert_error(await client.get(expired), 403, "invalid_signature")


async def test_bad_specs_name_the_field(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(100, 80))).json()["imageId"]
    cases = [
        ({"transformations": {"explode": True}}, 400),
        ({"resize": {"width": "wide"}}, 400),
        ({"resize": {"width": 0}}, 422),
        ({"transformations": {"quality": 101}}, 422),
        ({"transformations": {"format": "bmp"}}, 422),
        ({"transformations": {"crop": {"x": 90, "y": 0, "width": 50, "height": 10}}}, 422),
        ({"transformations": {"watermark": {"image": "missing.png"}}}, 422),
    ]
    for payload, status in cases:
        r = await client.post(f"/api/v1/images/{image_id}/transform", json=payload, headers=headers)
        body = r.json()
        assert r.status_code in (400, 422), (payload, r.text)
        assert r.status_code == status or (status == 422 and r.status_code == 400), (
            payload,
            r.text,
        )
        assert body["details"] and body["details"][0]["field"], (payload, body)
    not_json = await client.post(
        f"/api/v1/images/{image_id}/transform", content=b"[1,2]", headers=headers
    )
    assert_error(not_json, 400)


async def test_upload_with_transformations_queues_a_job(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    headers = await register(client)
    r = await upload(client, headers, photo(), transformations='{"rotate": 90}')
    assert r.status_code == 202, r.text
    assert r.json()["jobId"]
    await drain(services)
    job = (await client.get(f"/api/v1/jobs/{r.json()['jobId']}", headers=headers)).json()
    assert job["status"] == "processed"
    bad = await upload(client, headers, photo(), processingOptions='{"rotate": "x"}')
    assert_error(bad, 400)
    not_json = await upload(client, headers, photo(), transformations="{")
    assert_error(not_json, 400, "invalid_json")
    assert len(stored_files(settings)) == 2  # the first upload and its variant only


async def test_image_watermark_names_one_of_the_users_images(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    logo = await client.post(
        "/api/v1/images",
        headers=headers,
        files={"image": ("logo.png", photo(64, 64, ".png"), "image/png")},
    )
    image_id = (await upload(client, headers, photo(400, 300))).json()["imageId"]
    r = await client.post(
        f"/api/v1/images/{image_id}/transform", json={"watermark": "logo.png"}, headers=headers
    )
    assert r.status_code == 202, r.text
    await drain(services)
    assert r.json()["variant"]["spec"]["watermark"]["image"] == logo.json()["imageId"]
    job = (await client.get(f"/api/v1/jobs/{r.json()['jobId']}", headers=headers)).json()
    assert job["status"] == "processed", job


async def test_a_job_that_cannot_render_fails_with_a_reason(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    await services.storage.put(f"images/{image_id}/original", b"\xff\xd8\xffgarbage")
    r = await client.post(
        f"/api/v1/images/{image_id}/transform", json={"rotate": 90}, headers=headers
    )
    await drain(services)
    job = (await client.get(f"/api/v1/jobs/{r.json()['jobId']}", headers=headers)).json()
    assert job["status"] == "failed"
    assert job["error"]
    status = (await client.get(f"/api/v1/images/{image_id}/status", headers=headers)).json()
    assert status["status"] == "failed"
    # recorded in the log service, where the owner can read it
    logs = (
        await client.get(f"/api/v1/logs?level=error&imageId={image_id}", headers=headers)
    ).json()
    assert [e["message"] for e in logs["items"]] == [f"Job {job['id']} failed: {job['error']}"]
    # asking again retries it with a new job
    retry = await client.post(
        f"/api/v1/images/{image_id}/transform", json={"rotate": 90}, headers=headers
    )
    assert retry.status_code == 202 and retry.json()["jobId"] != r.json()["jobId"]


async def test_jobs_interrupted_by_a_restart_finish_after_it(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with build_services(settings) as services:
        from pixelpress.api.app import create_app

        app = create_app(services=services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            image_id = (await upload(client, headers)).json()["imageId"]
        # Two jobs the process never finished: one committed but never published, one
        # claimed by a worker that died mid-render.
        async with services.db.unit_of_work() as uow:
            image = await uow.images.get(image_id)
            user = await uow.users.find_by_login("alice")
            assert image is not None and user is not None
            limits = settings.limits
            clock = services.clock
            lost = await queue_variant(
                uow, image, parse_spec({"rotate": 90}), user=user, clock=clock, limits=limits
            )
            dying = await queue_variant(
                uow, image, parse_spec({"resize": "50x"}), user=user, clock=clock, limits=limits
            )
            await uow.commit()
        assert lost.job is not None and dying.job is not None
        async with services.db.unit_of_work() as uow:
            claimed = await uow.jobs.claim(
                dying.job.id, now=clock.now(), lease_until=clock.now() + timedelta(hours=1),
                max_attempts=3,
            )  # fmt: skip
            await uow.commit()
        assert claimed.job is not None and claimed.job.status is JobStatus.PROCESSING
    # restart on the same data directory
    async with build_services(settings) as services:
        await drain(services)
        async with services.db.unit_of_work() as uow:
            jobs = [await uow.jobs.get(lost.job.id), await uow.jobs.get(dying.job.id)]
        assert [j.status for j in jobs if j] == [JobStatus.PROCESSED, JobStatus.PROCESSED]
        assert await services.storage.exists(lost.variant.storage_key)
        assert await services.storage.exists(dying.variant.storage_key)


async def test_running_a_job_twice_changes_nothing(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    r = await client.post(
        f"/api/v1/images/{image_id}/transform", json={"rotate": 45}, headers=headers
    )
    job_id = r.json()["jobId"]
    await drain(services)
    before = sorted(stored_files(settings))
    assert await run_job(job_id, runner=services.runner) is None  # finished: nothing to do
    await services.queue.publish(job_id)
    await services.queue.publish(job_id)
    await drain(services)
    assert sorted(stored_files(settings)) == before
    async with services.db.unit_of_work() as uow:
        variants = (await uow.variants.list_for_images([image_id]))[image_id]
        jobs = (await uow.jobs.list_for_images([image_id]))[image_id]
    assert len(variants) == 1 and len(jobs) == 1
    assert jobs[0].attempts == 1
