"""Real `pixelpress serve` and `pixelpress worker` processes, given URLs with passwords, at the
most talkative log level: no password reaches their output or an answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests import services
from tests.e2e.processes import Process, environment, wait_ready
from tests.images import photo

pytestmark = pytest.mark.e2e


def test_no_password_is_logged_or_shown(tmp_path: Path) -> None:
    services.need("PostgreSQL")
    services.need("Redis")
    services.need("RabbitMQ")
    tag = uuid.uuid4().hex[:8]
    database_url = asyncio.run(services.fresh_postgres_database())
    # PostgreSQL trusts loopback and Redis has no password to check: these are accepted, and
    # only have to stay out of sight.
    db_password, redis_password = f"pg-pass-{tag}", f"redis-pass-{tag}"
    assert database_url.startswith("postgresql://postgres@")
    secret_key = f"secret-key-{tag}-long-enough-for-hs256"
    env = environment(
        data_dir=str(tmp_path / "var"),
        database_url=database_url.replace("postgres@", f"postgres:{db_password}@", 1),
        queue_url="amqp://guest:guest@127.0.0.1:5672/",
        queue_name=f"pixelpress.e2e.{tag}",
        cache_url=f"redis://:{redis_password}@127.0.0.1:6379/0",
        cache_prefix=f"pixelpress-e2e-{tag}",
        smtp_url=f"smtp://mailer:smtp-pass-{tag}@127.0.0.1:2525",
        s3_secret_access_key=f"s3-pass-{tag}",
        secret_key=secret_key,
    )
    secrets = ["guest:guest", db_password, redis_password, f"smtp-pass-{tag}", f"s3-pass-{tag}"]
    secrets.append(secret_key)
    port = services.free_port()
    base = f"http://127.0.0.1:{port}"
    api = Process(
        ["serve", "--port", str(port), "--log-level", "debug"], env, tmp_path, tmp_path / "api.log"
    )
    worker = Process(["worker", "--log-level", "debug"], env, tmp_path, tmp_path / "worker.log")
    answers: list[str] = []
    try:
        wait_ready(api, base)
        with httpx.Client(base_url=base, timeout=30) as http:
            r = http.post(
                "/api/v1/auth/register",
                json={"username": "quiet", "email": "q@example.com", "password": "long enough pw"},
            )
            assert r.status_code == 201, r.text
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            image_id = http.post(
                "/api/v1/images", headers=headers, files={"image": ("a.jpg", photo(), "image/jpeg")}
            ).json()["imageId"]
            job = http.post(
                f"/api/v1/images/{image_id}/transform", json={"rotate": 90}, headers=headers
            ).json()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = http.get(f"/api/v1/jobs/{job['jobId']}", headers=headers).json()
                if status["status"] in ("processed", "failed"):
                    break
                time.sleep(0.2)
            assert status["status"] == "processed", status  # the worker did run it
            link = http.get(f"/api/v1/images/{image_id}/download", headers=headers).json()
            assert http.get(link["downloadUrl"]).status_code == 200  # a signature in the log
            for path in ("/readyz", "/metrics", "/openapi.json"):
                answer = http.get(path)
                assert answer.status_code == 200, answer.text
                answers.append(answer.text)
    finally:
        api.stop()
        worker.stop()
        asyncio.run(services.drop_postgres(database_url))
        asyncio.run(services.delete_queues(env["PIXELPRESS_QUEUE_NAME"]))
    logs = {"api": api.output(), "worker": worker.output()}
    for text in [*logs.values(), *answers]:
        for secret in secrets:
            assert secret not in text
    # they did speak, of those URLs too
    assert "worker consuming amqp://guest:***@127.0.0.1:5672/" in logs["worker"]
    assert "signature=***" in logs["api"]
    assert len(logs["api"].splitlines()) > 20
