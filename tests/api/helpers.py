from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx

from pixelpress.adapters.queue_inprocess import InProcessQueue
from pixelpress.bootstrap import Services, build_services
from pixelpress.ports import TaskQueue
from pixelpress.settings import Settings
from tests.images import photo

PASSWORD = "correct horse battery"


async def register_tokens(client: httpx.AsyncClient, name: str = "alice") -> dict[str, str]:
    """Registers `name` and returns the answer: its tokens and user."""
    response = await client.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def register(client: httpx.AsyncClient, name: str = "alice") -> dict[str, str]:
    """Registers `name` and returns the bearer header of its access token."""
    tokens = await register_tokens(client, name)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], data: bytes | None = None, **form: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/images",
        headers=headers,
        files={"image": ("photo.jpg", data if data is not None else photo(), "image/jpeg")},
        data=form or None,
    )


def assert_error(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code", "details", "statusCode"}, body
    assert body["statusCode"] == status
    assert isinstance(body["error"], str) and body["error"]
    if code is not None:
        assert body["code"] == code, body
    return dict(body)


def in_process(queue: TaskQueue) -> InProcessQueue:
    """The embedded queue behind the port: only it can say that nothing is left to run."""
    assert isinstance(queue, InProcessQueue), f"{queue!r} cannot be drained"
    return queue


async def drain(services: Services) -> None:
    """Waits until both in-process queues have nothing waiting, delayed or running (a job's end
    hands notifications on to the other)."""
    queues = [in_process(services.queue), in_process(services.notices)]
    while not all(queue.idle for queue in queues):
        for queue in queues:
            await queue.drain()


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """Services built from `settings` and a client of the app on them, for tests that need
    settings of their own."""
    from pixelpress.api.app import create_app

    async with build_services(settings) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield built, client


async def metric_value(client: httpx.AsyncClient, series: str) -> float:
    """A series' value on /metrics, read as an operator would (0 when it is not there yet):
    `series` is its name with its labels, as printed."""
    text = (await client.get("/metrics")).text
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
