from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from pixelpress.api.app import create_app
from pixelpress.api.ratelimit import client_address
from pixelpress.bootstrap import build_services
from pixelpress.domain.models import LogFilter, Page
from tests.api.helpers import PASSWORD, assert_error, register, running, upload
from tests.conftest import make_settings
from tests.images import photo


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


async def test_fresh_accounts_behind_one_address_do_not_multiply_its_budget(
    tmp_path: Path,
) -> None:
    """Each user has the transform limit; their address, the limit times the address factor."""
    settings = make_settings(tmp_path, rate_limit_transform=3, rate_limit_address_factor=2)
    async with running(settings) as (_, client):
        answers = []
        for name in ("ann", "ben", "cat"):
            headers = await register(client, name)
            image_id = (await upload(client, headers)).json()["imageId"]
            for angle in (10, 20, 30):
                r = await client.post(
                    f"/api/v1/images/{image_id}/transform", json={"rotate": angle}, headers=headers
                )
                answers.append(r.status_code)
        # 3 each for ann and ben, then the address's 6 are spent: cat gets none
        assert answers == [202] * 6 + [429] * 3
        # dry runs render nothing: they are not counted as transformations
        dry = await client.post(
            f"/api/v1/images/{image_id}/transform?dryRun=true", json={"rotate": 40}, headers=headers
        )
        assert dry.status_code == 200


async def test_one_account_s_logins_are_limited_from_any_address(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        rate_limit_login_account=3,
        rate_limit_login=2,  # per address: each guess below comes from another one
        trusted_proxies=["127.0.0.1/32"],
    )
    async with running(settings) as (_, client):
        await register(client, "target")
        answers = []
        for n in range(5):  # each "from" another address, behind a proxy we trust
            r = await client.post(
                "/api/v1/auth/login",
                json={"username": "TARGET", "password": "wrong password"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            )
            answers.append(r.status_code)
        assert answers == [401, 401, 401, 429, 429]
        assert (
            await client.post("/api/v1/auth/login", json={"username": "other", "password": "x"})
        ).status_code == 401  # other accounts are not affected


async def test_renders_are_budgeted_however_they_are_asked(tmp_path: Path) -> None:
    """Owner renders that miss the cache spend the transform bucket; signed-URL misses the
    address's render bucket; cached hits spend nothing."""
    settings = make_settings(tmp_path, rate_limit_transform=2, rate_limit_render=2)
    async with running(settings) as (_, client):
        headers = await register(client)
        image_id = (await upload(client, headers)).json()["imageId"]
        render = f"/api/v1/images/{image_id}/render"
        owner = [
            (await client.get(f"{render}?width={w}", headers=headers)).status_code
            for w in (10, 20, 30)
        ]
        assert owner == [200, 200, 429]
        for _ in range(5):  # cached: free
            assert (await client.get(f"{render}?width=10", headers=headers)).status_code == 200
        urls = []
        for w in (40, 50, 60):
            minted = await client.post(
                f"/api/v1/images/{image_id}/urls",
                json={"transformations": {"resize": {"width": w}}},
                headers=headers,
            )
            urls.append(minted.json()["url"])
        signed = [(await client.get(url)).status_code for url in urls]
        assert signed == [200, 200, 429]
        refused = await client.get(urls[2])
        assert_error(refused, 429, "rate_limited")
        assert int(refused.headers["Retry-After"]) >= 1
        for _ in range(5):
            assert (await client.get(urls[0])).status_code == 200


async def test_admission_control_refuses_renders_beyond_its_slots_while_hits_flow(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, render_concurrency=1, render_wait_seconds=0.05)
    async with running(settings) as (_, client):
        headers = await register(client)
        image_id = (await upload(client, headers, photo(2400, 1800))).json()["imageId"]
        cached = await client.post(f"/api/v1/images/{image_id}/urls", json={}, headers=headers)
        assert (await client.get(cached.json()["url"])).status_code == 200
        slow = []
        for angle in range(11, 17):
            minted = await client.post(
                f"/api/v1/images/{image_id}/urls",
                json={"transformations": {"rotate": angle, "filters": {"blur": 20}}},
                headers=headers,
            )
            slow.append(minted.json()["url"])
        answers = await asyncio.gather(
            *(client.get(url) for url in slow),
            *(client.get(cached.json()["url"]) for _ in range(6)),
        )
        misses, hits = answers[:6], answers[6:]
        assert {a.status_code for a in hits} == {200}
        refused = [a for a in misses if a.status_code == 503]
        assert refused and any(a.status_code == 200 for a in misses)
        for answer in refused:
            body = assert_error(answer, 503, "service_unavailable")
            assert body["details"] == {"dependency": "renderer"}
            assert answer.headers["Retry-After"] == "1"
