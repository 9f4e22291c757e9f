"""/metrics: every request labelled by its route template, and an optional operator token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from pixelpress.api.app import create_app
from pixelpress.bootstrap import build_services
from tests.api.helpers import assert_error, register, upload
from tests.conftest import make_settings


@asynccontextmanager
async def api(tmp_path: Path, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with build_services(make_settings(tmp_path, **settings)) as services:
        transport = httpx.ASGITransport(app=create_app(services=services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def count(text: str, method: str, route: str, status: int) -> float:
    labels = f'method="{method}",route="{route}",status="{status}"'
    prefix = f"pixelpress_http_requests_total{{{labels}}} "
    found = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(found[0].removeprefix(prefix)) if found else 0.0


async def test_signed_urls_and_early_refusals_are_labelled_by_route(tmp_path: Path) -> None:
    async with api(tmp_path, rate_limit_transform=1) as client:
        headers = await register(client)
        image_id = (await upload(client, headers)).json()["imageId"]
        minted = await client.post(
            f"/api/v1/images/{image_id}/urls",
            json={"transformations": {"resize": {"width": 50}}},
            headers=headers,
        )
        url = minted.json()["url"].removeprefix("http://testserver")
        assert (await client.get(url)).status_code == 200
        assert (await client.get(url)).status_code == 200  # a cached hit
        assert (await client.get(f"/i/forged/w_10/{image_id}")).status_code == 403
        # the transform bucket holds one: the second is refused before routing
        for expected in (202, 429):
            r = await client.post(
                f"/api/v1/images/{image_id}/transform", json={"rotate": 90}, headers=headers
            )
            assert r.status_code == expected, r.text
        assert (await client.get("/no/such/route")).status_code == 404
        assert (await client.get(f"/api/images/{image_id}", headers=headers)).status_code == 200
        text = (await client.get("/metrics")).text
    signed = "/i/{signature}/{options}/{image}"
    assert count(text, "GET", signed, 200) == 2
    assert count(text, "GET", signed, 403) == 1
    transform = "/api/v1/images/{image_id}/transform"
    assert count(text, "POST", transform, 202) == 1
    assert count(text, "POST", transform, 429) == 1
    assert count(text, "GET", "unmatched", 404) == 1  # unknown paths stay one label
    assert count(text, "GET", "/api/images/{image_id}", 200) == 1
    assert 'route="/i/' not in text.replace(f'route="{signed}"', "")  # never a raw path


async def test_metrics_are_public_unless_a_token_is_set(tmp_path: Path) -> None:
    async with api(tmp_path / "a") as client:
        assert (await client.get("/metrics")).status_code == 200
    async with api(tmp_path / "b", metrics_token="s3cret-metrics-token") as client:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Basic s3cret-metrics-token"},
            {"Authorization": "Bearer s3cret-metrics-token-and-more"},
        ):
            refused = await client.get("/metrics", headers=headers)
            assert_error(refused, 401, "metrics_token_required")
            assert refused.headers["WWW-Authenticate"] == "Bearer"
            assert "pixelpress_" not in refused.text
        ok = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
        assert ok.status_code == 200
        assert "pixelpress_http_requests_total" in ok.text
        # a user's own access token is not the operator's
        user = await register(client)
        assert_error(await client.get("/metrics", headers=user), 401, "metrics_token_required")
        assert (await client.get("/healthz")).status_code == 200  # health stays open
