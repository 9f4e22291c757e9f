"""The hit path (api/fastpath.py): signed-URL hits held in this process's memory are answered in
front of the middleware stack, with everything the route gives them, and never after a purge.

`through_hits_only` wraps the hit path around an app that refuses every request: whatever it
answers with 200 or 304 was answered by the hit path alone."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pyvips
from starlette.types import Receive, Scope, Send

from pixelpress.api.fastpath import SignedHits
from pixelpress.bootstrap import Services
from pixelpress.domain import signing
from tests import services as test_services
from tests.api.helpers import assert_error, drain, metric_value, register, running, upload
from tests.api.test_delivery import W400, mint
from tests.conftest import make_settings
from tests.images import photo

PASSED_ON = 599


async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": PASSED_ON, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def through_hits_only(services: Services) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=SignedHits(refuse, services=lambda: services))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def comparable(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k != "x-request-id"}


async def signed_hits(client: httpx.AsyncClient, status: int) -> float:
    labels = f'method="GET",route="/i/{{signature}}/{{options}}/{{image}}",status="{status}"'
    return await metric_value(client, f"pixelpress_http_requests_total{{{labels}}}")


async def rendered_url(
    client: httpx.AsyncClient, spec: dict[str, Any] = W400
) -> tuple[dict[str, str], str, str, httpx.Response]:
    """A new image, a signed URL of it (`spec`), and its first answer (a render, by the route):
    (the owner's headers, the image id, the URL, the answer)."""
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    url = await mint(client, headers, image_id, transformations=spec)
    first = await client.get(url)
    assert first.status_code == 200, first.text
    return headers, image_id, url, first


async def replace_image(client: httpx.AsyncClient, headers: dict[str, str], image_id: str) -> None:
    """New bytes (a portrait photo) for the image."""
    r = await client.put(
        f"/api/v1/images/{image_id}",
        headers={**headers, "Content-Type": "image/jpeg"},
        content=photo(600, 800),
    )
    assert r.status_code == 200, r.text


async def test_a_hit_is_answered_without_the_app_exactly_as_the_route_answers(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    plain = await mint(client, headers, image_id, transformations=W400)
    auto = await mint(client, headers, image_id, transformations=W400, autoFormat=True)
    w300 = {"resize": {"width": 300}}
    expiring = await mint(client, headers, image_id, transformations=w300, expiresIn=3600)
    async with through_hits_only(services) as hits:
        for url, accept in [(plain, "*/*"), (auto, "image/webp,*/*"), (expiring, "*/*")]:
            missed = await hits.get(url, headers={"Accept": accept})
            assert missed.status_code == PASSED_ON  # nothing in memory yet: the app answers
            rendered = await client.get(url, headers={"Accept": accept})  # the route
            assert rendered.status_code == 200, rendered.text
            hit = await hits.get(url, headers={"Accept": accept})
            assert hit.status_code == 200
            assert hit.content == rendered.content
            assert comparable(hit) == comparable(rendered) | {
                "cache-control": hit.headers["cache-control"]
            }
            assert hit.headers["x-content-type-options"] == "nosniff"
            assert hit.headers["content-security-policy"] == "default-src 'none'; sandbox"
            assert hit.headers["content-disposition"].startswith("inline; filename=")
            assert hit.headers["content-length"] == str(len(rendered.content))
        assert hit.headers["cache-control"].startswith("public, max-age=")
        assert rendered.headers["cache-control"].startswith("public, max-age=")
        vary = await hits.get(auto, headers={"Accept": "image/webp,*/*"})
        assert vary.headers["vary"] == "Accept"
        assert vary.headers["content-type"] == "image/webp"
        # Another Accept is another variant, not yet rendered: passed on, not mixed up.
        avif = await hits.get(auto, headers={"Accept": "image/avif,*/*"})
        assert avif.status_code == PASSED_ON
        jpeg = await hits.get(auto, headers={"Accept": "text/html"})  # the plain URL's variant
        assert jpeg.headers["content-type"] == "image/jpeg"
        assert jpeg.headers["vary"] == "Accept"


async def test_hits_carry_etags_request_ids_and_heads(
    client: httpx.AsyncClient, services: Services
) -> None:
    url = (await rendered_url(client))[2]
    async with through_hits_only(services) as hits:
        hit = await hits.get(url, headers={"X-Request-ID": "trace-42"})
        assert hit.status_code == 200
        assert hit.headers["x-request-id"] == "trace-42"
        for given in ({}, {"X-Request-ID": "no spaces allowed"}):
            fresh = await hits.get(url, headers=given)
            assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
        etag = hit.headers["etag"]
        not_modified = await hits.get(url, headers={"If-None-Match": f'"other", {etag}'})
        assert not_modified.status_code == 304
        assert not_modified.content == b""
        assert not_modified.headers["etag"] == etag
        assert not_modified.headers["x-content-type-options"] == "nosniff"
        assert (await hits.get(url, headers={"If-None-Match": '"other"'})).status_code == 200
        head = await hits.head(url)
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == hit.headers["content-length"]


async def test_bad_and_expired_signatures_are_never_answered_from_memory(
    client: httpx.AsyncClient, services: Services
) -> None:
    _, image_id, url, _ = await rendered_url(client)
    key = services.url_keys.keys[0]
    past = f"w_400,q_80,f_jpeg,exp_{int(time.time()) - 10}/{image_id}"
    expired = f"http://testserver/i/{signing.sign_url(key, past)}/{past}"
    forged = url.replace("/i/", "/i/A")
    stolen = f"w_400,q_80,f_jpeg/{image_id}"
    unknown = f"http://testserver/i/{signing.sign_url('stolen-key', stolen)}/{stolen}"
    async with through_hits_only(services) as hits:
        assert (await hits.get(url)).status_code == 200  # the same variant is in memory
        for bad in (expired, forged, unknown):
            assert (await hits.get(bad)).status_code == PASSED_ON
            assert_error(await client.get(bad), 403, "invalid_signature")


async def test_hits_are_counted_in_the_request_metrics(
    client: httpx.AsyncClient, services: Services
) -> None:
    url = (await rendered_url(client))[2]
    before = await signed_hits(client, 200)
    async with through_hits_only(services) as hits:
        for _ in range(5):
            assert (await hits.get(url)).status_code == 200
    assert await signed_hits(client, 200) == before + 5


async def test_replace_and_delete_are_seen_at_once_by_the_hit_path(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers, image_id, url, first = await rendered_url(client, {"resize": {"width": 200}})
    async with through_hits_only(services) as hits:
        assert (await hits.get(url)).content == first.content
        await replace_image(client, headers, image_id)
        assert (await hits.get(url)).status_code == PASSED_ON  # forgotten by the replace
        replaced = await client.get(url)
        assert replaced.status_code == 200
        assert replaced.content != first.content
        assert replaced.headers["etag"] != first.headers["etag"]
        assert (await hits.get(url)).content == replaced.content
        await drain(services)
        deleted = await client.delete(f"/api/v1/images/{image_id}", headers=headers)
        assert deleted.status_code == 204, deleted.text
        assert (await hits.get(url)).status_code == PASSED_ON
        assert_error(await client.get(url), 404, "image_not_found")


async def test_admin_purges_and_forgotten_records_leave_nothing_in_memory(
    client: httpx.AsyncClient, services: Services
) -> None:
    _, image_id, url, _ = await rendered_url(client, {"resize": {"width": 120}})
    async with through_hits_only(services) as hits:
        assert (await hits.get(url)).status_code == 200
        await services.cache.delete_prefix(f"images/{image_id}/")  # as every purge path does
        assert (await hits.get(url)).status_code == PASSED_ON
        assert (await client.get(url)).status_code == 200  # found again (and kept again)
        assert (await hits.get(url)).status_code == 200


async def test_renders_beyond_admission_get_503_while_hits_are_answered(tmp_path: Path) -> None:
    # One slot, held by the test: every render is refused; hits, from memory or through the
    # route, never wait for a slot.
    for hot_entries in (2048, 0):
        settings = make_settings(
            tmp_path / str(hot_entries),
            render_concurrency=1,
            render_wait_seconds=0.01,
            delivery_hot_entries=hot_entries,
        )
        async with running(settings) as (services, client):
            headers, image_id, cached, _ = await rendered_url(client)
            uncached = await mint(client, headers, image_id, transformations={"rotate": 90})
            async with services.deliverer.gate.admitted():
                refused = await client.get(uncached)
                body = assert_error(refused, 503, "service_unavailable")
                assert body["details"] == {"dependency": "renderer"}
                assert refused.headers["Retry-After"] == "1"
                for _ in range(3):
                    hit = await client.get(cached)
                    assert hit.status_code == 200
                    assert hit.headers["x-content-type-options"] == "nosniff"
            assert (await client.get(uncached)).status_code == 200  # the slot is free again


async def test_a_replace_in_one_process_reaches_the_hits_of_another(tmp_path: Path) -> None:
    # Two processes on one database, one store and one Redis: B holds a variant in memory, A
    # replaces the image; B stops answering it from memory once A's purge is announced, and
    # its next answer is of the new bytes.
    test_services.need("Redis")
    settings = make_settings(
        tmp_path,
        cache_url=test_services.REDIS_URL,
        cache_prefix=f"test-{uuid.uuid4().hex[:12]}",
        delivery_hot_seconds=3600,  # only the announcement can make B forget
    )
    async with running(settings) as (a, client_a), running(settings) as (b, client_b):
        headers = await register(client_a)
        image_id = (await upload(client_a, headers, photo(800, 600))).json()["imageId"]
        await drain(a)
        url = await mint(client_a, headers, image_id, transformations={"resize": {"width": 90}})
        old = await client_b.get(url)
        assert old.status_code == 200, old.text
        async with through_hits_only(b) as hits_b:
            assert (await hits_b.get(url)).content == old.content
            await replace_image(client_a, headers, image_id)
            for _ in range(500):  # a bounded number of turns, no clock in the assertion
                if (await hits_b.get(url)).status_code == PASSED_ON:
                    break
                await asyncio.sleep(0.01)
            assert (await hits_b.get(url)).status_code == PASSED_ON
        new = await client_b.get(url)
        assert new.status_code == 200
        assert new.content != old.content


async def test_hinted_urls_are_answered_per_hint_with_their_headers(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    url = await mint(client, headers, image_id, transformations={"resize": "200x"}, autoDpr=True)
    async with through_hits_only(services) as hits:
        for dpr, width in (("1", 200), ("2", 400)):
            hint = {"Sec-CH-DPR": dpr}
            assert (await hits.get(url, headers=hint)).status_code == PASSED_ON  # not yet made
            rendered = await client.get(url, headers=hint)
            hit = await hits.get(url, headers=hint)
            assert hit.status_code == 200
            assert hit.content == rendered.content
            assert comparable(hit) == comparable(rendered)
            assert "Sec-CH-DPR" in hit.headers["vary"] and hit.headers["accept-ch"]
            assert pyvips.Image.new_from_buffer(hit.content, "").width == width


async def test_urls_naming_presets_are_left_to_the_route(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Their expansion is the owner's to look up, and an edit changes it: never from memory."""
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    preset = {"name": "small", "options": "w_120", "public": True}
    assert (await client.post("/api/v1/presets", json=preset, headers=headers)).status_code == 201
    r = await client.post(
        f"/api/v1/images/{image_id}/urls", json={"preset": "small"}, headers=headers
    )
    signed = r.json()["url"]
    unsigned = f"http://testserver/i/-/t_small/{image_id}"
    async with through_hits_only(services) as hits:
        for url in (signed, unsigned):
            assert (await client.get(url)).status_code == 200
            assert (await hits.get(url)).status_code == PASSED_ON
        edit = {"options": "w_60", "public": True}
        put = await client.put("/api/v1/presets/small", json=edit, headers=headers)
        assert put.status_code == 200, put.text
        for url in (signed, unsigned):
            edited = await client.get(url)
            assert pyvips.Image.new_from_buffer(edited.content, "").width == 60
