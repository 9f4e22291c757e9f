from __future__ import annotations

import gc
import json
import logging

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pixelpress.api.app import create_app
from pixelpress.api.observability import configure_logging, request_id
from pixelpress.bootstrap import Services
from pixelpress.domain.spec import parse_spec
from pixelpress.settings import Settings
from pixelpress.usecases.transforms import queue_variant
from tests.api.helpers import assert_error, drain, register, upload
from tests.images import photo


def sse_events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append(fields)
    return events


async def test_job_events_stream_every_state_until_the_end(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(3000, 2000, ".jpg", Q=95))).json()["imageId"]
    # a job committed but not yet handed to the queue: it is `queued` when the stream opens
    async with services.db.unit_of_work() as uow:
        image = await uow.images.get(image_id)
        user = await uow.users.find_by_login("alice")
        assert image is not None
        assert user is not None
        slow = parse_spec({"rotate": 17, "filters": {"blur": 25}, "format": "avif", "quality": 90})
        queued = await queue_variant(
            uow, image, slow, user=user, clock=services.clock, limits=settings.limits
        )
        await uow.commit()
    assert queued.job is not None
    job_id = queued.job.id

    async def start_later() -> None:
        await services.queue.publish(job_id)

    import asyncio

    starter = asyncio.get_running_loop().call_later(
        0.5, lambda: asyncio.ensure_future(start_later())
    )
    try:
        r = await client.get(f"/api/v1/jobs/{job_id}/events", headers=headers, timeout=60)
    finally:
        starter.cancel()
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    states = [json.loads(e["data"])["status"] for e in events]
    assert states == ["queued", "in progress", "processed"]
    assert all(e["event"] == "status" for e in events)


async def test_job_events_of_others_are_404(client: httpx.AsyncClient, services: Services) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    image_id = (await upload(client, alice)).json()["imageId"]
    r = await client.post(
        f"/api/v1/images/{image_id}/transform", json={"rotate": 90}, headers=alice
    )
    job_id = r.json()["jobId"]
    assert_error(
        await client.get(f"/api/v1/jobs/{job_id}/events", headers=bob), 404, "job_not_found"
    )
    await drain(services)
    done = await client.get(f"/api/v1/jobs/{job_id}/events", headers=alice)
    assert [json.loads(e["data"])["status"] for e in sse_events(done.text)] == ["processed"]


async def test_metrics_in_prometheus_format(client: httpx.AsyncClient, services: Services) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    await client.post(f"/api/v1/images/{image_id}/transform", json={"rotate": 90}, headers=headers)
    await drain(services)
    await client.get("/api/v1/images/nope", headers=headers)
    await services.cache.get("nothing-here")
    assert (await client.get("/readyz")).status_code == 200
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    labels = 'method="GET",route="/api/v1/images/{image_id}",status="404"'
    assert f"pixelpress_http_requests_total{{{labels}}} 1.0" in text
    assert (
        'pixelpress_http_request_duration_seconds_count{method="POST",route="/api/v1/images"}'
        in text
    )
    assert 'pixelpress_jobs{state="processed"} 1.0' in text
    assert "pixelpress_queue_depth 0.0" in text
    assert 'pixelpress_job_duration_seconds_count{outcome="processed"} 1.0' in text
    assert 'pixelpress_cache_requests_total{result="miss"}' in text
    assert "pixelpress_render_duration_seconds_count 1.0" in text
    for dependency in ("database", "storage", "queue", "cache"):
        assert f'pixelpress_dependency_up{{dependency="{dependency}"}} 1.0' in text


async def test_request_ids_are_returned_and_logged(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    r = await client.get("/healthz")
    generated = r.headers["X-Request-ID"]
    assert len(generated) == 32
    mine = await client.get("/healthz", headers={"X-Request-ID": "trace-abc.123"})
    assert mine.headers["X-Request-ID"] == "trace-abc.123"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert hostile.headers["X-Request-ID"] != "bad id\nwith newline"
    configure_logging("info", "json")
    try:
        token = request_id.set("req-42")
        logging.getLogger("pixelpress.test").info("something happened")
        request_id.reset(token)
        line = capsys.readouterr().out.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["message"] == "something happened"
        assert record["request_id"] == "req-42"
        assert record["level"] == "INFO"
        assert record["logger"] == "pixelpress.test"
    finally:
        logging.getLogger().handlers[:] = []


async def test_start_up_objects_are_kept_out_of_the_collectors_sight(settings: Settings) -> None:
    # A full collection walking every object made at start-up held requests up by tens of
    # milliseconds (the p99 of cached hits in bench/): they are frozen once the app is up.
    gc.unfreeze()
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_the_schema_documents_the_error_envelope(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    envelope = schema["components"]["schemas"]["ErrorOut"]
    assert set(envelope["required"]) == {"error", "code", "statusCode"}
    for path, methods in schema["paths"].items():
        if path in ("/healthz", "/readyz", "/metrics"):
            continue
        for method, operation in methods.items():
            refused = operation["responses"].get("4XX")
            assert refused is not None, (method, path)
            ref = refused["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorOut"), (method, path)
            if "422" in operation["responses"]:  # ours; FastAPI's own shape is never sent
                answer = operation["responses"]["422"]["content"]["application/json"]
                assert answer["schema"]["$ref"].endswith("/ErrorOut"), (method, path)
    assert "503" in schema["paths"]["/readyz"]["get"]["responses"]


async def test_a_bug_is_a_500_envelope_with_the_request_id(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    async def boom(_: Request) -> Response:
        raise RuntimeError("a bug")

    app = create_app(services=services)
    app.router.routes.insert(0, Route("/boom", boom))
    transport = httpx.ASGITransport(app=app)
    configure_logging("info", "json")
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.get("/boom", headers={"X-Request-ID": "req-500"})
        assert_error(r, 500, "internal_error")
        assert r.headers["X-Request-ID"] == "req-500"
        logged = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
        (failure,) = [e for e in logged if e["level"] == "ERROR"]
        assert failure["request_id"] == "req-500"
        assert "RuntimeError: a bug" in failure["exc_info"]
    finally:
        logging.getLogger().handlers[:] = []
