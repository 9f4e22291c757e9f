"""An API process on a Kafka queue: it publishes and never consumes, and /readyz names the queue
while Kafka cannot be reached (the process keeps serving)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from pixelpress.api.app import create_app
from pixelpress.bootstrap import build_services
from tests.api.helpers import register, upload
from tests.conftest import make_settings
from tests.kafka import Tansu
from tests.proxy import CuttableProxy


@pytest.fixture
async def broker_behind_proxy(tmp_path: Path) -> AsyncIterator[tuple[Tansu, CuttableProxy]]:
    """A broker of this test's own that clients reach (and are told to reach) through a proxy."""
    proxy = CuttableProxy("127.0.0.1", 0)
    await proxy.start()
    broker = Tansu(tmp_path / "tansu.log", advertise=proxy.port).start()
    proxy.target = ("127.0.0.1", broker.port)
    try:
        yield broker, proxy
    finally:
        await proxy.cut()
        broker.stop()


async def test_an_api_process_publishes_never_consumes_and_names_kafka_when_it_is_away(
    tmp_path: Path, broker_behind_proxy: tuple[Tansu, CuttableProxy]
) -> None:
    broker, proxy = broker_behind_proxy
    tag = uuid.uuid4().hex[:8]
    settings = make_settings(
        tmp_path,
        queue_url=broker.url,
        queue_name=f"pixelpress.api.{tag}",
        notify_queue_name=f"pixelpress.api.{tag}.notifications",
        kafka_group=f"pixelpress-api-{tag}",
        kafka_partitions=2,
    )
    bootstrap = broker.url.removeprefix("kafka://")
    async with build_services(settings) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            image_id = (await upload(client, headers)).json()["imageId"]
            r = await client.post(
                f"/api/v1/images/{image_id}/transform", headers=headers, json={"rotate": 90}
            )
            assert r.status_code == 202, r.text
            job_id = r.json()["jobId"]
            # the job is in the topic, keyed by its image, and nobody here takes it
            reader = AIOKafkaConsumer(
                settings.queue_name, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
            )
            await reader.start()
            try:
                record = await asyncio.wait_for(reader.getone(), timeout=15)
            finally:
                await reader.stop()
            assert record.key == image_id.encode()
            assert json.loads(record.value) == {"id": job_id}
            await asyncio.sleep(1)
            job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
            assert job["status"] == "queued"
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
            await admin.start()
            try:
                groups = await admin.list_consumer_groups()
            finally:
                await admin.close()
            assert not [g for g in groups if g[0].startswith(settings.kafka_group)]

            assert (await client.get("/readyz")).status_code == 200
            await proxy.cut()
            ready = await client.get("/readyz")  # degraded, not dead: it names the queue
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["queue"] == "down"
            # still serving; a job accepted now waits in the database for the sweep
            r = await client.post(
                f"/api/v1/images/{image_id}/transform", headers=headers, json={"rotate": 180}
            )
            assert r.status_code == 202, r.text
            await proxy.start()  # back on the same port
            for _ in range(60):
                if (await client.get("/readyz")).json()["status"] == "ready":
                    break
                await asyncio.sleep(0.5)
            assert (await client.get("/readyz")).json()["status"] == "ready"
