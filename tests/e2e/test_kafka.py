"""Two `pixelpress serve` processes and two `pixelpress worker`s on PostgreSQL, Kafka, Redis and
S3, walked over HTTP. Kafka is Tansu on loopback, keeping its topics, messages and committed
offsets in S3 (moto's server), so that a restarted broker has them back."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import services
from tests.e2e.processes import Process, upload
from tests.e2e.test_production import SLOW_SPEC, Stack, login, running_stack, wait_job
from tests.images import photo
from tests.kafka import Tansu

pytestmark = pytest.mark.e2e


@dataclass
class KafkaStack:
    stack: Stack
    broker: Tansu


@pytest.fixture
def kafka_stack(tmp_path: Path, s3_endpoint: str) -> Iterator[KafkaStack]:
    broker = Tansu(
        tmp_path / "tansu.log",
        storage=f"s3://{services.make_bucket(s3_endpoint)}/",
        s3_endpoint=s3_endpoint,
    ).start()
    tag = uuid.uuid4().hex[:8]
    settings = {
        "queue_url": broker.url,
        "queue_name": f"pixelpress.e2e.{tag}",
        "notify_queue_name": f"pixelpress.e2e.{tag}.notifications",
        "kafka_group": f"pixelpress-e2e-{tag}",
        "kafka_partitions": "4",
        "kafka_session_timeout_seconds": "5",
        "rate_limit_transform": "100000",
    }
    try:
        with running_stack(tmp_path, s3_endpoint, tag, settings=settings, workers=2) as stack:
            yield KafkaStack(stack, broker)
    finally:
        broker.stop()


def transform(base: str, headers: dict[str, str], image_id: str, spec: object) -> str:
    r = httpx.post(
        f"{base}/api/v1/images/{image_id}/transform", headers=headers, json=spec, timeout=30
    )
    assert r.status_code == 202, r.text
    job_id: str = r.json()["jobId"]
    return job_id


def test_jobs_submitted_on_either_api_finish_once(kafka_stack: KafkaStack) -> None:
    stack = kafka_stack.stack
    headers = login(stack.a, "kafkaesque")
    prefs = httpx.put(f"{stack.b}/api/v1/me/notifications", json={"email": True}, headers=headers)
    assert prefs.status_code == 200, prefs.text
    jobs: dict[str, str] = {}
    for n in range(3):
        image_id = upload(stack.a if n % 2 else stack.b, headers, photo(800, 600))
        for base, spec in ((stack.a, {"resize": "300x"}), (stack.b, {"rotate": 90})):
            jobs[transform(base, headers, image_id, spec)] = image_id
    for job_id in jobs:
        job = wait_job(stack.b, headers, job_id)
        assert job["status"] == "processed", job
        assert job["attempts"] == 1, job
    for image_id in set(jobs.values()):
        image = httpx.get(f"{stack.a}/api/v1/images/{image_id}", headers=headers).json()
        assert len(image["variants"]) == 2
        assert len(stack.objects(f"images/{image_id}/variants/")) == 2
    # each job's notification went through the notifications topic, once
    deadline = time.monotonic() + 20
    outbox = stack.cwd / "var" / "outbox"
    while len(list(outbox.glob("*.eml"))) < len(jobs) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # room for a duplicate to show
    assert len(list(outbox.glob("*.eml"))) == len(jobs)


def cpu_ticks(process: Process) -> int:
    """User and system CPU time the process has used, in clock ticks."""
    fields = Path(f"/proc/{process.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rendering_worker(stack: Stack) -> Process:
    """The worker that is rendering now: the one whose CPU time grows (the other one idles)."""
    before = {id(w): cpu_ticks(w) for w in stack.workers}
    time.sleep(1.0)
    return max(stack.workers, key=lambda w: cpu_ticks(w) - before[id(w)])


def test_a_killed_worker_s_job_is_processed_once_by_the_other(kafka_stack: KafkaStack) -> None:
    stack = kafka_stack.stack
    headers = login(stack.a, "killer")
    image_id = upload(stack.a, headers, photo(4000, 3000, ".jpg", Q=90))
    job_id = transform(stack.a, headers, image_id, SLOW_SPEC)
    deadline = time.monotonic() + 30
    while httpx.get(f"{stack.a}/api/v1/jobs/{job_id}", headers=headers).json()["status"] != (
        "in progress"
    ):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.02)
    victim = rendering_worker(stack)
    survivor = next(w for w in stack.workers if w is not victim)
    victim.kill()
    killed = time.monotonic()
    assert httpx.get(f"{stack.a}/api/v1/jobs/{job_id}", headers=headers).json()["status"] == (
        "in progress"
    )
    # The issue asks for about 30 s: the group's session timeout (5 s here) or the lease (4 s)
    # hands the job over, then the render itself.
    job = wait_job(stack.b, headers, job_id, timeout=45)
    assert job["status"] == "processed", (job, survivor.output()[-3000:])
    assert job["attempts"] == 2  # the killed one's, then the survivor's
    print(f"processed {time.monotonic() - killed:.1f} s after the kill")
    image = httpx.get(f"{stack.a}/api/v1/images/{image_id}", headers=headers).json()
    # beside the rendition (a 4000 px original gets one), exactly one AVIF variant and object
    assert [v["format"] for v in image["variants"] if v["format"] == "avif"] == ["avif"]
    objects = stack.objects(f"images/{image_id}/variants/")
    assert len([key for key in objects if key.endswith(".avif")]) == 1


def test_a_broker_restart_under_load_loses_no_accepted_job(kafka_stack: KafkaStack) -> None:
    stack, broker = kafka_stack.stack, kafka_stack.broker
    headers = login(stack.a, "restarter")
    images = [upload(base, headers, photo(640, 480)) for base in (stack.a, stack.b)]
    accepted: list[str] = []
    failures: list[BaseException] = []

    def load() -> None:
        try:
            for n in range(24):
                base = stack.a if n % 2 else stack.b
                spec = {"resize": f"{100 + n}x", "format": "webp"}
                accepted.append(transform(base, headers, images[n % 2], spec))
                time.sleep(0.25)
        except BaseException as exc:  # reported below
            failures.append(exc)

    submitter = threading.Thread(target=load)
    submitter.start()
    while len(accepted) < 6:
        time.sleep(0.05)
    broker.stop()
    time.sleep(2)
    broker.start()  # same port, same S3 storage
    submitter.join(timeout=120)
    assert not failures, failures
    assert len(accepted) == 24
    for job_id in accepted:
        job = wait_job(stack.a, headers, job_id, timeout=60)
        assert job["status"] == "processed", job
