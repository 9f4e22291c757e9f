from __future__ import annotations

from pathlib import Path

import httpx

from pixelpress.api.app import create_app
from pixelpress.api.ratelimit import client_address
from pixelpress.bootstrap import build_services
from pixelpress.domain.models import LogFilter, Page
from tests.api.helpers import PASSWORD, assert_error, register
from tests.conftest import make_settings


async def test_limits_carry_headers_and_429(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rate_limit_default=5, rate_limit_login=2)
    async with build_services(settings) as services:
        transport = httpx.ASGITransport(app=create_app(services=services))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            first = await client.get("/api/v1/auth/me", headers=headers)
            assert first.headers["RateLimit-Limit"] == "5"
            remaining = int(first.headers["RateLimit-Remaining"])
            # anonymous registration counted against the address; this is the user's first
            assert remaining == 4
            assert int(first.headers["RateLimit-Reset"]) >= 0
            for _ in range(remaining):
                assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
            blocked = await client.get("/api/v1/auth/me", headers=headers)
            body = assert_error(blocked, 429, "rate_limited")
            assert body["error"] == "Rate limit exceeded. Please try again later."
            assert int(blocked.headers["Retry-After"]) >= 1
            # the login bucket is stricter and counted per address
            login = {"username": "alice", "password": PASSWORD}
            client.cookies.clear()  # anonymous: the address's buckets, not the user's
            assert (await client.post("/api/v1/auth/login", json=login)).status_code == 200
            client.cookies.clear()
            refused = await client.post("/api/v1/auth/login", json=login)
            assert_error(refused, 429, "rate_limited")
            assert refused.headers["RateLimit-Limit"] == "2"  # the login bucket's
            # health checks and signed delivery URLs are never limited
            assert (await client.get("/healthz")).status_code == 200
            delivery = await client.get("/i/bad-signature/w_10/x")
            assert delivery.status_code == 403
            assert "RateLimit-Limit" not in delivery.headers
            # the blocks are recorded in the log service, once per window and caller
            async with services.db.unit_of_work() as uow:
                found = await uow.logs.list_page(LogFilter(), Page(1, 100))
            blocks = [e for e in found.items if e.message.startswith("Rate limit reached")]
            assert sorted(e.context["bucket"] for e in blocks if e.context) == ["default", "login"]


def test_forwarded_for_is_only_believed_from_trusted_proxies() -> None:
    scope = {"client": ("10.0.0.5", 1234), "headers": [(b"x-forwarded-for", b"1.2.3.4, 10.0.0.9")]}
    assert client_address(scope, []) == "10.0.0.5"
    assert client_address(scope, ["10.0.0.0/8"]) == "1.2.3.4"
    assert client_address(scope, ["192.168.0.0/16"]) == "10.0.0.5"
