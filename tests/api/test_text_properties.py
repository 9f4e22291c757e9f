"""Arbitrary strings (lone surrogates, NUL, bidirectional marks, 10 KB, anything) through every
text field of the API: each is taken or refused with a 4xx, never a 5xx, and afterwards every list
and detail route still answers 2xx for the owner and for an admin (issue: one stored string used to
break listings for everyone)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixelpress.api.app import create_app
from pixelpress.bootstrap import Services, build_services
from pixelpress.domain.models import Role
from tests.api.helpers import PASSWORD, drain
from tests.conftest import make_settings
from tests.images import photo

EDGE_CASES = [
    "\ud800", "\udfff", "a\ud83d", "\x00", "a\x00b", "\u202e\u202dabc", "\u200f", "\ufeff",
    "\n", "\t", " ", "", "x" * 10_240, "€" * 5000, "\U0001f600", "../../etc/passwd", "%00",
    "<script>alert(1)</script>", "' OR 1=1 --", "\\", "\r\n", "\u0085", "\uffff",
]  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(EDGE_CASES),
    # every code point, lone surrogates included (hypothesis leaves them out by default)
    st.text(st.characters(exclude_categories=()), max_size=40),
)


def raw(text: str) -> bytes:
    """The UTF-8 bytes a client sends for `text`, lone surrogates included (as CESU would)."""
    return text.encode("utf-8", "surrogatepass")


def query(**params: str) -> str:
    """A query string of the raw bytes; texts cut to 2000 characters (URLs have limits of their
    own, the client's among them)."""
    params = {k[:2000]: v[:2000] for k, v in params.items()}
    return "&".join(f"{quote(raw(k), safe='')}={quote(raw(v), safe='')}" for k, v in params.items())


def multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    """An upload whose file name is sent as its raw bytes (httpx would escape or refuse them)."""
    boundary = "pixelpress-property-boundary"
    head = b'--%s\r\nContent-Disposition: form-data; name="image"; filename="%s"\r\n' % (
        boundary.encode(),
        raw(filename).replace(b'"', b"%22").replace(b"\r", b"").replace(b"\n", b""),
    )
    body = head + b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n--%s--\r\n" % boundary.encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Api:
    """An app with an owner (holding one image and one job) and an admin, for one whole run."""

    def __init__(self, client: httpx.AsyncClient, services: Services) -> None:
        self.client = client
        self.services = services
        self.owner: dict[str, str] = {}
        self.admin: dict[str, str] = {}
        self.owner_id = ""
        self.image_id = ""
        self.job_id = ""
        self.log_id = ""

    async def setup(self) -> None:
        self.owner, self.owner_id = await self.register("owner")
        self.admin, admin_id = await self.register("root")
        async with self.services.db.unit_of_work() as uow:
            admin = await uow.users.get(admin_id)
            assert admin is not None
            admin.role = Role.ADMIN
            await uow.users.update(admin)
            await uow.commit()
        r = await self.client.post(
            "/api/v1/images",
            headers=self.owner,
            files={"image": ("photo.jpg", photo(64, 48), "image/jpeg")},
            data={"transformations": json.dumps({"resize": "32x"})},
        )
        assert r.status_code == 202, r.text
        self.image_id, self.job_id = r.json()["imageId"], r.json()["jobId"]
        r = await self.post("/api/v1/logs", {"logLevel": "info", "message": "hello"})
        self.log_id = r.json()["logId"]

    async def register(self, name: str) -> tuple[dict[str, str], str]:
        body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        r = await self.client.post("/api/v1/auth/register", json=body)
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}, r.json()["user"]["id"]

    async def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", self.owner)
        if body is not None:
            # json.dumps escapes lone surrogates (\ud800): the bytes a hostile client sends
            kwargs["content"] = json.dumps(body)
            headers = headers | {"Content-Type": "application/json"}
        r = await self.client.request(method, path, headers=headers, **kwargs)
        assert r.status_code < 500, f"{method} {path} {body!r}: {r.status_code} {r.text}"
        if r.status_code >= 400:
            assert set(r.json()) == {"error", "code", "details", "statusCode"}, r.text
        return r

    async def post(self, path: str, body: Any) -> httpx.Response:
        return await self.send("POST", path, body)

    async def read_everything(self) -> None:
        image = f"/api/v1/images/{self.image_id}"
        for path, headers in [
            ("/api/v1/images", self.owner),
            (image, self.owner),
            (f"{image}/status", self.owner),
            (f"/api/v1/jobs/{self.job_id}", self.owner),
            ("/api/v1/logs", self.owner),
            (f"/api/v1/logs/{self.log_id}", self.owner),
            ("/api/v1/notifications", self.owner),
            (f"/api/v1/notifications/{self.owner_id}/status", self.owner),
            ("/api/v1/auth/me", self.owner),
            ("/api/v1/admin/images", self.admin),
            ("/api/v1/admin/users", self.admin),
            ("/api/v1/admin/stats", self.admin),
            ("/api/v1/logs", self.admin),
            (image, self.admin),
        ]:
            r = await self.client.get(path, headers=headers)
            if path.endswith("/status") and "notifications" in path and r.status_code == 404:
                continue  # none sent yet: a 404 in the envelope is this route's answer
            assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
            r.json()
        for page in range(1, 4):
            r = await self.client.get(f"/api/v1/images?page={page}&limit=100", headers=self.owner)
            assert r.status_code == 200, r.text

    async def push(self, text: str) -> None:
        """`text` into every field that takes text."""
        image = f"/api/v1/images/{self.image_id}"
        await self.post("/api/v1/auth/register", {"username": text, "email": "a@example.com",
                                                  "password": PASSWORD})  # fmt: skip
        await self.post("/api/v1/auth/register", {"username": "someone", "email": text,
                                                  "password": text})  # fmt: skip
        await self.send("POST", "/api/v1/auth/login", {"username": text, "password": text},
                        headers={})  # fmt: skip
        for spec in (
            {"watermark": {"text": text}},
            {"watermark": {"text": "ok", "position": text}},
            {"watermark": text},
            {"format": text},
            {"resize": text},
            {"filter": text},
            {"transformations": {"resize": {"width": 10, "fit": text}}},
            {text: True},
        ):
            await self.post(f"{image}/transform", spec)
            await self.post(f"{image}/transform?dryRun=true", spec)
            await self.post(f"{image}/urls", {"transformations": spec})
        await self.send("GET", f"{image}/render?" + query(watermarkText=text, width="20"))
        await self.send("GET", f"{image}/render?" + query(**{text: "1"}))
        await self.post("/api/v1/logs", {"logLevel": "info", "message": text})
        await self.post("/api/v1/logs", {"logLevel": "info", "message": "m", "context": {text: text,
                                         "nested": [text, {"k": text}]}})  # fmt: skip
        await self.post("/api/v1/logs", {"logLevel": text, "message": "m", "imageId": text})
        await self.send("GET", "/api/v1/logs?" + query(imageId=text, level=text))
        await self.send("GET", "/api/v1/logs?" + query(since=text))
        await self.send("PUT", "/api/v1/me/notifications", {"email": True, "webhookUrl": text})
        await self.post("/api/v1/notifications/send", {"userId": self.owner_id, "message": text,
                                                       "notificationType": "email"})  # fmt: skip
        await self.post("/api/v1/notifications/send", {"userId": text, "message": "m",
                                                       "notificationType": text})  # fmt: skip
        await self.send("PATCH", f"/api/v1/admin/users/{self.owner_id}", {"role": text},
                        headers=self.admin)  # fmt: skip
        body, content_type = multipart(text, photo(16, 16))
        await self.send("POST", "/api/v1/images", content=body,
                        headers=self.owner | {"Content-Type": content_type})  # fmt: skip
        await self.send("POST", "/api/v1/images?" + query(filename=text), content=photo(16, 16),
                        headers=self.owner | {"Content-Type": "image/jpeg"})  # fmt: skip
        marked = json.dumps({"watermark": {"text": text}})
        await self.send("POST", "/api/v1/images", files={"image": ("a.jpg", photo(16, 16))},
                        data={"transformations": marked})  # fmt: skip
        segment = quote(
            text[:2000], safe="", errors="surrogatepass"
        )  # one path segment, bytes as sent
        for path in ("images", "jobs", "logs", "images/{}/status"):
            await self.send(
                "GET", "/api/v1/" + (path.format(segment) if "{" in path else f"{path}/{segment}")
            )


@asynccontextmanager
async def running_api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path, webhook_allow_loopback=True)
    async with build_services(settings) as services:
        transport = httpx.ASGITransport(app=create_app(services=services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            api = Api(client, services)
            await api.setup()
            yield api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[asyncio.Runner, Api]]:
    """One event loop for the whole property run, so that stored junk piles up across examples."""
    with asyncio.Runner() as runner:
        context = running_api(tmp_path)
        built = runner.run(context.__aenter__())
        try:
            yield runner, built
        finally:
            runner.run(context.__aexit__(None, None, None))


@settings(
    max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(text=TEXT)
def test_any_string_in_any_field_is_taken_or_refused_and_every_read_still_works(
    api: tuple[asyncio.Runner, Api], text: str
) -> None:
    runner, built = api
    runner.run(built.push(text))
    runner.run(built.read_everything())


def test_the_edge_cases_each_go_through(api: tuple[asyncio.Runner, Api]) -> None:
    runner, built = api
    for text in EDGE_CASES:
        runner.run(built.push(text))
    runner.run(drain(built.services))
    runner.run(built.read_everything())
