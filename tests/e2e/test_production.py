"""Two `pixelpress serve` processes and `pixelpress worker`s on PostgreSQL, RabbitMQ, Redis and
S3 (moto's server on loopback), walked over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pyvips

from pixelpress.adapters.queue_rabbitmq import RabbitQueue
from pixelpress.bootstrap import JOB_TASK
from tests import receivers, services
from tests.e2e.processes import Process, environment, serve, upload
from tests.images import photo

pytestmark = pytest.mark.e2e

PASSWORD = "long enough password"
SLOW_SPEC = {
    "transformations": {"rotate": 33, "filters": {"blur": 30}, "format": "avif", "quality": 90}
}


@dataclass
class Stack:
    env: dict[str, str]
    cwd: Path
    a: str
    b: str
    bucket: str
    s3: str
    database_url: str
    queue_name: str
    workers: list[Process]

    def worker(self) -> Process:
        n = len(self.workers)
        process = Process(
            ["worker", "--concurrency", "2"], self.env, self.cwd, self.cwd / f"worker{n}.log"
        )
        self.workers.append(process)
        return process

    def objects(self, prefix: str) -> list[str]:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.s3,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        listed = client.list_objects_v2(Bucket=self.bucket, Prefix=f"data/{prefix}")
        return [o["Key"] for o in listed.get("Contents", [])]


@contextlib.contextmanager
def running_stack(
    tmp_path: Path, s3: str, tag: str, *, settings: dict[str, str], workers: int = 1
) -> Iterator[Stack]:
    """Two API processes and `workers` workers on PostgreSQL, Redis and S3, with the queue (and
    any other setting) that `settings` name."""
    services.need("PostgreSQL")
    services.need("Redis")
    database_url = asyncio.run(services.fresh_postgres_database())
    bucket = services.make_bucket(s3)
    env = environment(
        data_dir=str(tmp_path / "var"),
        database_url=database_url,
        storage_url=f"s3://{bucket}/data",
        s3_endpoint_url=s3,
        s3_access_key_id="test",
        s3_secret_access_key="test",
        cache_url=services.REDIS_URL,
        cache_prefix=f"pixelpress-e2e-{tag}",
        secret_key=f"e2e-secret-{tag}-long-enough-for-hs256",
        rate_limit_default="100000",
        rate_limit_login="10",
        rate_limit_login_account="100000",
        job_lease_seconds="4",
        webhook_allow_loopback="true",
        notification_retry_base_seconds="0.2",
        job_sweep_seconds="1",
        **settings,
    )
    processes: list[Process] = []
    stack = Stack(env, tmp_path, "", "", bucket, s3, database_url, env["PIXELPRESS_QUEUE_NAME"], [])
    try:
        api_a, stack.a = serve(env, tmp_path, "api-a")
        processes.append(api_a)
        api_b, stack.b = serve(env, tmp_path, "api-b")
        processes.append(api_b)
        for _ in range(workers):
            stack.worker()
        yield stack
    finally:
        for process in [*processes, *stack.workers]:
            process.stop()
        asyncio.run(services.drop_postgres(database_url))


@pytest.fixture
def stack(tmp_path: Path, s3_endpoint: str) -> Iterator[Stack]:
    services.need("RabbitMQ")
    tag = uuid.uuid4().hex[:8]
    name = f"pixelpress.e2e.{tag}"
    queue = {
        "queue_url": services.AMQP_URL,
        "queue_name": name,
        "notify_queue_name": f"{name}.notifications",
    }
    try:
        with running_stack(tmp_path, s3_endpoint, tag, settings=queue) as running:
            yield running
    finally:
        asyncio.run(services.delete_queues(name))
        asyncio.run(services.delete_queues(f"{name}.notifications"))


def login(base: str, name: str) -> dict[str, str]:
    r = httpx.post(
        f"{base}/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def wait_job(
    base: str, headers: dict[str, str], job_id: str, timeout: float = 60
) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, str] = httpx.get(f"{base}/api/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("processed", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


@pytest.fixture
def hooks() -> Iterator[receivers.Receiver]:
    yield from receivers.webhook_receiver()


def test_walk_across_two_api_processes(stack: Stack, hooks: receivers.Receiver) -> None:
    headers = login(stack.a, "walker")
    prefs = httpx.put(
        f"{stack.a}/api/v1/me/notifications",
        json={"email": True, "webhookUrl": hooks.url},
        headers=headers,
    )
    assert prefs.status_code == 200, prefs.text
    hooks.answers = [500]  # the worker retries through RabbitMQ's delay queue
    image_id = upload(stack.a, headers, photo(1200, 900))
    r = httpx.post(
        f"{stack.a}/api/v1/images/{image_id}/transform",
        headers=headers,
        json={"resize": "300x", "filter": "grayscale", "format": "webp"},
    )
    assert r.status_code == 202, r.text
    job = wait_job(stack.b, headers, r.json()["jobId"])  # checked from the other process
    assert job["status"] == "processed", job
    status = httpx.get(f"{stack.b}/api/v1/images/{image_id}/status", headers=headers).json()
    assert status["status"] == "processed"
    link = httpx.get(f"{stack.b}/api/v1/images/{image_id}/download", headers=headers).json()
    assert link["downloadUrl"].startswith(stack.s3)  # presigned by S3 itself
    got = httpx.get(link["downloadUrl"])
    assert got.status_code == 200
    out = pyvips.Image.new_from_buffer(got.content, "")
    assert out.width == 300
    assert out.get("vips-loader").startswith("webpload")
    # the worker delivered the notifications: a mail in the outbox, a webhook after a retry
    deadline = time.monotonic() + 20
    while len(hooks.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(hooks.received) == 2
    assert hooks.received[1].event["type"] == "job.processed"
    mails = list((stack.cwd / "var" / "outbox").glob("*.eml"))
    assert len(mails) == 1
    # logout on A is refused at once on B
    assert httpx.post(f"{stack.a}/api/v1/auth/logout", headers=headers).status_code == 200
    assert httpx.get(f"{stack.b}/api/v1/auth/me", headers=headers).status_code == 401


def test_rate_limit_is_shared_between_api_processes(stack: Stack) -> None:
    login(stack.a, "counter")  # one of the login bucket's ten
    allowed = 0
    for n in range(20):
        base = stack.a if n % 2 else stack.b
        r = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "counter", "password": PASSWORD}
        )
        if r.status_code == 429:
            break
        assert r.status_code == 200, r.text
        allowed += 1
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    assert allowed == 9  # the two processes counted together


def test_a_killed_worker_s_job_finishes_once(stack: Stack) -> None:
    headers = login(stack.a, "killer")
    big = photo(4000, 3000, ".jpg", Q=90)
    image_id = upload(stack.a, headers, big)
    r = httpx.post(f"{stack.a}/api/v1/images/{image_id}/transform", headers=headers, json=SLOW_SPEC)
    assert r.status_code == 202, r.text
    job_id = r.json()["jobId"]
    deadline = time.monotonic() + 30
    while httpx.get(f"{stack.a}/api/v1/jobs/{job_id}", headers=headers).json()["status"] != (
        "in progress"
    ):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.02)
    stack.workers[0].kill()
    assert httpx.get(f"{stack.a}/api/v1/jobs/{job_id}", headers=headers).json()["status"] == (
        "in progress"
    )
    stack.worker()
    job = wait_job(stack.a, headers, job_id, timeout=90)
    assert job["status"] == "processed", (job, stack.workers[-1].output()[-3000:])
    image = httpx.get(f"{stack.a}/api/v1/images/{image_id}", headers=headers).json()
    # beside the rendition (a 4000 px original gets one), exactly one AVIF variant and object
    assert [v["format"] for v in image["variants"] if v["format"] == "avif"] == ["avif"]
    objects = stack.objects(f"images/{image_id}/variants/")
    assert len([key for key in objects if key.endswith(".avif")]) == 1


def test_the_same_job_published_twice_runs_once(stack: Stack) -> None:
    headers = login(stack.a, "twice")
    image_id = upload(stack.a, headers, photo(800, 600))
    r = httpx.post(
        f"{stack.a}/api/v1/images/{image_id}/transform", headers=headers, json={"rotate": 90}
    )
    job_id = r.json()["jobId"]

    async def publish_again() -> None:
        queue = RabbitQueue(
            services.AMQP_URL, name=stack.queue_name, task_name=JOB_TASK, concurrency=1
        )
        await queue.start(None)
        await queue.publish(job_id)
        await queue.publish(job_id)
        await queue.stop()

    asyncio.run(publish_again())
    job = wait_job(stack.a, headers, job_id)
    assert job["status"] == "processed"
    # The extra copies were taken off the queue (and turned away) before a job published after
    # them is done: drained, rather than waited for.
    other = upload(stack.a, headers, photo(200, 150))
    r = httpx.post(
        f"{stack.a}/api/v1/images/{other}/transform", headers=headers, json={"rotate": 90}
    )
    assert wait_job(stack.a, headers, r.json()["jobId"])["status"] == "processed"
    again = httpx.get(f"{stack.a}/api/v1/jobs/{job_id}", headers=headers).json()
    assert again["attempts"] == 1
    assert again["finished_at"] == job["finished_at"]
    image = httpx.get(f"{stack.a}/api/v1/images/{image_id}", headers=headers).json()
    assert len(image["variants"]) == 1
    assert len(stack.objects(f"images/{image_id}/variants/")) == 1


def renders(base: str) -> float:
    """How many renderings this API process did (its render-time histogram's count)."""
    text = httpx.get(f"{base}/metrics").text
    for line in text.splitlines():
        if line.startswith("pixelpress_render_duration_seconds_count"):
            return float(line.split()[-1])
    return 0.0


def test_a_signed_url_renders_once_across_api_processes(stack: Stack) -> None:
    headers = login(stack.a, "deliverer")
    image_id = upload(stack.a, headers, photo(1600, 1200))
    minted = httpx.post(
        f"{stack.a}/api/v1/images/{image_id}/urls",
        json={"transformations": {"resize": {"width": 300}, "filter": "sepia"}},
        headers=headers,
    )
    assert minted.status_code == 200, minted.text
    path = "/i/" + minted.json()["url"].split("/i/", 1)[1]
    before = renders(stack.a) + renders(stack.b)

    async def fetch_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(
                *(client.get(f"{base}{path}") for base in [stack.a, stack.b] * 6)
            )

    answers = asyncio.run(fetch_all())
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert pyvips.Image.new_from_buffer(answers[0].content, "").width == 300
    # One rendering between the two processes (the lock is in Redis), one stored object.
    assert renders(stack.a) + renders(stack.b) == before + 1
    assert len(stack.objects(f"images/{image_id}/variants/")) == 1
    etag = answers[0].headers["etag"]
    assert httpx.get(f"{stack.b}{path}", headers={"If-None-Match": etag}).status_code == 304
    # Deleted through one process: the other's next answer is a 404, not the cached bytes.
    assert httpx.delete(f"{stack.b}/api/v1/images/{image_id}", headers=headers).status_code == 204
    assert httpx.get(f"{stack.a}{path}").status_code == 404
    assert stack.objects(f"images/{image_id}/") == []
