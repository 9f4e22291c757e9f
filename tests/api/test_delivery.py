"""Signed on-the-fly URLs, the variant cache, renditions, placeholders, replace and dry runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvips

from pixelpress.api.app import create_app
from pixelpress.bootstrap import Services, build_services
from pixelpress.domain import signing
from pixelpress.domain.keys import card_key, record_key
from pixelpress.domain.spec import parse_spec
from pixelpress.settings import Settings
from tests.api.helpers import assert_error, drain, metric_value, register, upload
from tests.api.test_images import stored_files
from tests.conftest import make_settings
from tests.images import grainy_photo, photo

W400 = {"resize": {"width": 400}, "format": "jpeg", "quality": 80}


async def mint(
    client: httpx.AsyncClient, headers: dict[str, str], image_id: str, **body: Any
) -> str:
    r = await client.post(f"/api/v1/images/{image_id}/urls", json=body, headers=headers)
    assert r.status_code == 200, r.text
    url: str = r.json()["url"]
    return url


async def renders(client: httpx.AsyncClient) -> float:
    """How many renderings libvips did (the render-time histogram's count, read from /metrics
    as an operator would)."""
    return await metric_value(client, "pixelpress_render_duration_seconds_count")


async def test_signed_url_renders_once_then_serves_with_etag(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    url = await mint(client, headers, image_id, transformations=W400)
    assert "/i/" in url
    assert "w_400,q_80,f_jpeg" in url
    first = await client.get(url)  # no credentials: the signature is the permission
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert pyvips.Image.new_from_buffer(first.content, "").width == 400
    again = await client.get(url)
    assert again.content == first.content
    assert again.headers["etag"] == etag
    not_modified = await client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert await renders(client) == 1


async def test_concurrent_requests_render_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(1000, 750))).json()["imageId"]
    url = await mint(
        client, headers, image_id, transformations={"resize": "300x", "filter": "sepia"}
    )
    answers = await asyncio.gather(*(client.get(url) for _ in range(12)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert await renders(client) == 1
    image = (await client.get(f"/api/v1/images/{image_id}", headers=headers)).json()
    assert [v["status"] for v in image["variants"]] == ["ready"]


async def test_signatures_tampered_expired_and_rotated(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, url_signing_keys=["new-key", "old-key"])
    async with build_services(settings) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            image_id = (await upload(client, headers)).json()["imageId"]
            url = await mint(client, headers, image_id, transformations=W400)
            assert (await client.get(url)).status_code == 200
            tampered = url.replace("w_400", "w_401")
            assert_error(await client.get(tampered), 403, "invalid_signature")
            forged = url.replace("/i/", "/i/A")
            assert_error(await client.get(forged), 403, "invalid_signature")
            # a URL signed with the key being rotated out still works
            path = f"w_200/{image_id}"
            old = f"http://t/i/{signing.sign_url('old-key', path)}/{path}"
            assert (await client.get(old)).status_code == 200
            unknown = f"http://t/i/{signing.sign_url('stolen-key', path)}/{path}"
            assert_error(await client.get(unknown), 403)
            # expiry is signed too, and enforced
            expiring = await mint(client, headers, image_id, transformations=W400, expiresIn=60)
            live = await client.get(expiring)
            assert live.status_code == 200
            assert live.headers["cache-control"].startswith("public, max-age=")
            past = f"w_400,exp_{int(time.time()) - 10}/{image_id}"
            expired = f"http://t/i/{signing.sign_url('new-key', past)}/{past}"
            assert_error(await client.get(expired), 403, "invalid_signature")


async def test_auto_format_follows_accept_and_varies(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    url = await mint(client, headers, image_id, transformations={"resize": "200x"}, autoFormat=True)
    assert ",f_auto,v_" in url.split("/")[-2]
    for accept, media in [
        ("image/avif,image/webp,*/*", "image/avif"),
        ("image/webp,*/*", "image/webp"),
        ("text/html,*/*;q=0.8", "image/jpeg"),
    ]:
        r = await client.get(url, headers={"Accept": accept})
        assert r.headers["content-type"] == media
        assert r.headers["vary"] == "Accept"
        assert r.content[:16]


@pytest.mark.parametrize(
    ("options", "status"),
    [("x_1", 400), ("w_0", 422), ("w_100000", 422), ("f_bmp", 422), ("w_abc", 400)],
)
async def test_bad_options_are_4xx(
    client: httpx.AsyncClient, services: Services, options: str, status: int
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    path = f"{options}/{image_id}"
    url = f"/i/{signing.sign_url(services.url_keys.keys[0], path)}/{path}"
    assert_error(await client.get(url), status)


async def test_unknown_images_and_owner_renders(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    image_id = (await upload(client, alice)).json()["imageId"]
    path = "w_100/0123456789abcdef0123456789abcdef"
    assert_error(
        await client.get(f"/i/{signing.sign_url(services.url_keys.keys[0], path)}/{path}"), 404
    )
    own = await client.get(
        f"/api/v1/images/{image_id}/render?width=120&grayscale=true", headers=alice
    )
    assert own.status_code == 200
    assert own.headers["cache-control"].startswith("private")
    assert pyvips.Image.new_from_buffer(own.content, "").width == 120
    assert_error(await client.get(f"/api/v1/images/{image_id}/render?width=120", headers=bob), 404)
    assert_error(await client.get(f"/api/v1/images/{image_id}/render?width=120"), 401)
    assert_error(await client.get(f"/api/v1/images/{image_id}/render?bogus=1", headers=alice), 400)
    theirs = await client.post(f"/api/v1/images/{image_id}/urls", json={}, headers=bob)
    assert_error(theirs, 404)


async def test_replace_purges_variants_and_new_urls_render_the_new_bytes(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    url = await mint(client, headers, image_id, transformations=W400)
    before = await client.get(url)
    old_files = set(stored_files(settings))
    red = pyvips.Image.black(640, 480).new_from_image([255, 0, 0]).cast("uchar")
    new_bytes = bytes(red.copy(interpretation="srgb").write_to_buffer(".png"))
    r = await client.put(
        f"/api/v1/images/{image_id}",
        headers={**headers, "Content-Type": "image/png"},
        content=new_bytes,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["format"], body["width"], body["height"], body["variants"]) == (
        "png",
        640,
        480,
        [],
    )
    assert not old_files & set(stored_files(settings))  # every old object is gone
    after = await client.get(url)
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    pixel = pyvips.Image.new_from_buffer(after.content, "").getpoint(200, 150)
    assert pixel[0] > 200
    assert pixel[1] < 50  # red now: rendered from the new bytes
    assert_error(
        await client.put(
            f"/api/v1/images/{image_id}",
            headers={**headers, "Content-Type": "image/png"},
            content=b"nope",
        ),
        415,
    )
    assert (await client.get(f"/api/v1/images/{image_id}", headers=headers)).json()[
        "format"
    ] == "png"
    # a URL minted now names the new bytes' version, so no browser cache keeps the old pixels
    again = await mint(client, headers, image_id, transformations=W400)
    assert again.split("/")[-2] == f"w_400,q_80,f_jpeg,v_{body['content_hash'][:8]}"
    assert url.split("/")[-2] != again.split("/")[-2]
    assert (await client.get(again)).content == after.content  # one variant: v_ is no option


async def test_dry_run_says_size_format_and_whether_cached(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    spec = {"resize": "400x", "rotate": 90, "format": "webp"}
    dry = await client.post(
        f"/api/v1/images/{image_id}/transform?dryRun=true", json=spec, headers=headers
    )
    assert dry.json() == {"width": 300, "height": 400, "format": "webp", "cached": False}
    assert await renders(client) == 0
    await client.post(f"/api/v1/images/{image_id}/transform", json=spec, headers=headers)
    await drain(services)
    dry = await client.post(
        f"/api/v1/images/{image_id}/transform?dryRun=true", json=spec, headers=headers
    )
    assert dry.json()["cached"] is True
    too_big = await client.post(
        f"/api/v1/images/{image_id}/transform?dryRun=true",
        json={"resize": "12000x12000", "rotate": 45},
        headers=headers,
    )
    assert_error(too_big, 422)


async def test_placeholders_come_with_the_image(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    red = pyvips.Image.black(300, 200).new_from_image([200, 30, 30]).cast("uchar")
    data = bytes(red.copy(interpretation="srgb").write_to_buffer(".png"))
    image = (await upload(client, headers, data)).json()["image"]
    placeholder = image["placeholder"]
    assert placeholder["dominant_color"] == "#c81e1e"
    assert 20 <= len(placeholder["blurhash"]) <= 40


def ssim(a: bytes, b: bytes) -> float:
    """Mean SSIM of two same-sized images, on luminance, with an 11-px Gaussian window."""

    def grey(data: bytes) -> Any:
        return pyvips.Image.new_from_buffer(data, "").colourspace("b-w")[0].cast("float")

    x, y = grey(a), grey(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda im: im.gaussblur(1.5, precision="float")  # noqa: E731
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    index = ((mx * my * 2 + c1) * (sxy * 2 + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(index.avg())


@pytest.fixture
async def big_photo(client: httpx.AsyncClient, services: Services) -> tuple[dict[str, str], str]:
    headers = await register(client)
    image_id = (await upload(client, headers, grainy_photo(3000, 2250))).json()["imageId"]
    await drain(services)  # the rendition job: every level of the pyramid
    return headers, image_id


def jpeg_of_width(width: int) -> dict[str, Any]:
    return {"resize": {"width": width}, "format": "jpeg", "quality": 80}


async def test_renditions_serve_small_outputs_with_the_same_quality(
    client: httpx.AsyncClient, services: Services, big_photo: tuple[dict[str, str], str]
) -> None:
    headers, image_id = big_photo
    image = (await client.get(f"/api/v1/images/{image_id}", headers=headers)).json()
    assert image["status"] == "uploaded"  # the renditions are Pixelpress's own work
    levels = sorted((v["width"], v["height"], v["status"]) for v in image["variants"])
    assert levels == [(512, 384, "ready"), (1024, 768, "ready"), (2048, 1536, "ready")]
    original = await services.storage.get(f"images/{image_id}/original")
    # Each level at the largest output it serves (the 2048 px master: anything that fits in
    # it, but the 1024 px level serves up to about 600 px wide, the 512 px one up to 426 px).
    cover = {"resize": {"width": 800, "height": 800, "fit": "cover"}, "format": "png"}
    for spec in (jpeg_of_width(1000), cover, jpeg_of_width(600), jpeg_of_width(426)):
        url = await mint(client, headers, image_id, transformations=spec)
        served = (await client.get(url)).content
        direct = await services.processor.render(original, parse_spec(spec))
        assert ssim(served, direct.data) >= 0.98, spec
    # proof that the levels are the sources: without the original and the bigger levels,
    # outputs that fit the smaller ones still render
    keys = {v["width"]: await level_key(services, image_id, v["id"]) for v in image["variants"]}
    for key in (f"images/{image_id}/original", keys[2048]):
        await services.storage.delete(key)
    small = await mint(client, headers, image_id, transformations=jpeg_of_width(600))
    assert (await client.get(small)).status_code == 200
    await services.storage.delete(keys[1024])
    smaller = await mint(client, headers, image_id, transformations=jpeg_of_width(420))
    assert (await client.get(smaller)).status_code == 200


async def test_replace_and_delete_leave_no_level_behind(
    client: httpx.AsyncClient,
    services: Services,
    settings: Settings,
    big_photo: tuple[dict[str, str], str],
) -> None:
    headers, image_id = big_photo
    url = await mint(client, headers, image_id, transformations=jpeg_of_width(300))
    assert (await client.get(url)).status_code == 200
    before = {path: path.read_bytes() for path in stored_files(settings)}
    assert len(before) == 5  # the original, three levels, the thumbnail
    r = await client.put(
        f"/api/v1/images/{image_id}",
        headers={**headers, "Content-Type": "image/jpeg"},
        content=photo(900, 1200),
    )
    assert r.status_code == 200, r.text
    await drain(services)  # the new bytes get one level, of 512 px
    # the new original and level (at the old level's key: the same spec): nothing of the old
    after = {path: path.read_bytes() for path in stored_files(settings)}
    assert len(after) == 2 and all(before.get(path) != data for path, data in after.items())
    image = (await client.get(f"/api/v1/images/{image_id}", headers=headers)).json()
    assert [(v["width"], v["height"]) for v in image["variants"]] == [(384, 512)]
    assert (await client.delete(f"/api/v1/images/{image_id}", headers=headers)).status_code == 204
    assert stored_files(settings) == []


async def level_key(services: Services, image_id: str, variant_id: str) -> str:
    async with services.db.unit_of_work(readonly=True) as uow:
        variant = await uow.variants.get(variant_id)
    assert variant is not None and variant.image_id == image_id
    return variant.storage_key


def animated_gif(frames: int = 3) -> bytes:
    pages = [
        pyvips.Image.black(200, 100).new_from_image([v, 255 - v, 80]).cast("uchar")
        for v in range(20, 20 + 100 * frames, 100)
    ]
    strip = pyvips.Image.arrayjoin(pages, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", 100)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [80] * frames)
    return bytes(strip.write_to_buffer(".gif"))


async def test_animations_keep_their_frames_or_say_they_were_flattened(
    client: httpx.AsyncClient,
) -> None:
    headers = await register(client)
    image = (await upload(client, headers, animated_gif())).json()["image"]
    assert image["frames"] == 3
    for fmt in ("gif", "webp"):
        url = await mint(
            client, headers, image["id"], transformations={"resize": "100x", "format": fmt}
        )
        r = await client.get(url)
        assert "X-Pixelpress-Animation" not in r.headers
        out = pyvips.Image.new_from_buffer(r.content, "", n=-1)
        assert out.get("n-pages") == 3
        assert (out.width, out.get("page-height")) == (100, 50)
    for spec in ({"resize": "100x", "rotate": 90, "format": "gif"}, {"format": "png"}):
        url = await mint(client, headers, image["id"], transformations=spec)
        r = await client.get(url)
        assert r.headers["X-Pixelpress-Animation"] == "flattened"
        options = "n=-1" if spec["format"] == "gif" else ""
        single = pyvips.Image.new_from_buffer(r.content, options)
        assert single.height == 100  # one frame, not a strip of three
        assert not single.get_typeof("n-pages") or single.get("n-pages") == 1
    listed = (await client.get(f"/api/v1/images/{image['id']}", headers=headers)).json()
    assert sorted(v["flattened"] for v in listed["variants"]) == [False, False, True, True]


@contextlib.asynccontextmanager
async def own_service(
    tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[Services, httpx.AsyncClient, str]]:
    """A service of its own with these settings, a client of it, and the signed URL of a
    400 px variant of a fresh upload (not fetched yet)."""
    async with build_services(make_settings(tmp_path, **overrides)) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
            yield built, client, await mint(client, headers, image_id, transformations=W400)


async def test_stores_without_local_files_stream_the_object(tmp_path: Path) -> None:
    async with own_service(tmp_path, storage_url="memory://", delivery_inline_bytes=0) as (
        _,
        client,
        url,
    ):
        first = await client.get(url)
        again = await client.get(url)
        assert first.status_code == again.status_code == 200
        assert again.content == first.content
        assert int(again.headers["content-length"]) == len(again.content)
        assert pyvips.Image.new_from_buffer(again.content, "").width == 400


def variant_files(settings: Settings) -> list[Path]:
    return [p for p in stored_files(settings) if p.parent.name == "variants"]


async def hit_twice_losing_the_file(tmp_path: Path, inline: int) -> tuple[float, bytes, bytes]:
    """Renders a variant, removes its stored file behind the service's back, asks again."""
    async with own_service(tmp_path, delivery_inline_bytes=inline) as (_, client, url):
        first = await client.get(url)
        assert first.status_code == 200
        (stored,) = variant_files(make_settings(tmp_path))
        stored.unlink()
        again = await client.get(url)
        assert again.status_code == 200, again.text
        return await renders(client), first.content, again.content


async def test_small_variants_are_answered_from_the_cache(tmp_path: Path) -> None:
    # Under the inline limit the bytes live in the cache with the record: the hit needs no file.
    count, first, again = await hit_twice_losing_the_file(tmp_path, inline=64 * 1024)
    assert len(first) < 64 * 1024
    assert count == 1 and again == first


async def test_a_cached_record_that_outlived_its_file_renders_again(tmp_path: Path) -> None:
    # Over the limit the hit opens the file; gone (purged meanwhile) it is made again, no 500.
    count, first, again = await hit_twice_losing_the_file(tmp_path, inline=0)
    assert count == 2 and again == first


async def test_a_card_outdated_by_a_replace_is_dropped_not_served(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    # Over 2048 px: each version gets a rendition, stored under the same key (the spec is the
    # same), so an outdated card finds a file there: only the content check catches it.
    image_id = (await upload(client, headers, photo(2400, 1800))).json()["imageId"]
    await drain(services)
    first = await mint(client, headers, image_id, transformations={"resize": {"width": 300}})
    assert (await client.get(first)).status_code == 200
    card = await services.cache.get(card_key(image_id))
    assert card is not None
    r = await client.put(
        f"/api/v1/images/{image_id}",
        headers={**headers, "Content-Type": "image/jpeg"},
        content=photo(1800, 2400),
    )
    assert r.status_code == 200, r.text
    new_hash = r.json()["content_hash"]
    await drain(services)  # the new rendition is ready, at the old one's key
    # As if a render of the old bytes had written its card after the replace purged them.
    await services.cache.set(card_key(image_id), card, ttl=60)
    later = await mint(client, headers, image_id, transformations={"resize": {"width": 150}})
    answer = await client.get(later)
    assert answer.status_code == 200, answer.text
    rendered = pyvips.Image.new_from_buffer(answer.content, "")
    assert (rendered.width, rendered.height) == (150, 200)  # the new, upright bytes
    assert answer.headers["etag"].endswith(f'{new_hash[:16]}"')  # and recorded as such
    fresh = await services.cache.get(card_key(image_id))
    assert fresh is not None and fresh != card


async def test_stored_variants_without_a_record_are_not_rendered_again(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    # A variant a queued job made: stored, with its row, but no cached record.
    spec = {"resize": {"width": 200}, "format": "png"}
    r = await client.post(f"/api/v1/images/{image_id}/transform", json=spec, headers=headers)
    assert r.status_code == 202, r.text
    await drain(services)
    made_by_job = await renders(client)
    first = await mint(client, headers, image_id, transformations={"resize": {"width": 300}})
    assert (await client.get(first)).status_code == 200  # leaves a card of the image
    url = await mint(client, headers, image_id, transformations=spec)
    assert (await client.get(url)).status_code == 200
    assert await renders(client) == made_by_job + 1  # only the 300 px one
    # A record pushed out of the cache: the stored variant serves, not a new rendering.
    parsed = parse_spec(spec)
    await services.cache.delete(record_key(image_id, parsed.hash))
    again = await client.get(url)
    assert again.status_code == 200
    assert await renders(client) == made_by_job + 1


async def test_a_lost_object_is_rendered_again_on_any_store(tmp_path: Path) -> None:
    # Without local files (S3, memory) the loss shows only when the body is read: the record is
    # dropped and the variant made again, not a 404 for as long as the record lives.
    async with own_service(tmp_path, storage_url="memory://", delivery_inline_bytes=0) as (
        built,
        client,
        url,
    ):
        first = await client.get(url)
        assert first.status_code == 200
        await built.storage.delete_prefix(f"images/{url.rsplit('/', 1)[-1]}/variants/")
        for _ in range(2):
            again = await client.get(url)
            assert again.status_code == 200, again.text
            assert again.content == first.content
        assert await renders(client) == 2


async def test_gravity_through_a_signed_url_and_an_owner_render(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    # photo() marks its top-left corner red: a top-left cover crop keeps it, a bottom one not.
    image_id = (await upload(client, headers, photo(400, 400, ".png"))).json()["imageId"]
    wanted = {"resize": {"width": 100, "height": 40, "gravity": "north_west"}, "format": "png"}
    url = await mint(client, headers, image_id, transformations=wanted)
    assert "w_100,h_40,c_cover,g_top-left" in url
    kept = await client.get(url)
    assert kept.status_code == 200
    corner = pyvips.Image.new_from_buffer(kept.content, "").getpoint(2, 2)
    assert corner[0] > 200 and corner[1] < 60
    query = "width=100&height=40&gravity=bottom&format=png"
    other = await client.get(f"/api/v1/images/{image_id}/render?{query}", headers=headers)
    assert other.status_code == 200
    corner = pyvips.Image.new_from_buffer(other.content, "").getpoint(2, 2)
    assert not (corner[0] > 200 and corner[1] < 60)


async def test_crops_and_text_watermarks_through_a_signed_url(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(400, 300, ".png"))).json()["imageId"]
    wanted = {
        "crop": {"x": 0, "y": 0, "width": 50, "height": 40},  # inside photo()'s red corner
        "watermark": {"text": "© me, 2026", "position": "center", "opacity": 1},
        "format": "png",
    }
    url = await mint(client, headers, image_id, transformations=wanted)
    assert "cr_0:0:50:40" in url and "wt_" in url
    answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    image = pyvips.Image.new_from_buffer(answer.content, "")
    assert (image.width, image.height) == (50, 40)
    assert image.getpoint(2, 2)[:3] == [255, 0, 0]  # the crop: red where the text is not
    assert image.extract_band(1).max() > 100  # the text: light, drawn over the red
    # A crop outside the image, or a text with nothing to draw, is refused when minting, not
    # every time the URL is fetched.
    for bad in (
        {"crop": {"x": 390, "y": 0, "width": 50, "height": 40}},
        {"watermark": {"text": "\u200b"}},
    ):
        refused = await client.post(
            f"/api/v1/images/{image_id}/urls", json={"transformations": bad}, headers=headers
        )
        assert_error(refused, 422, "invalid_spec")


async def test_image_watermarks_through_a_signed_url_and_an_owner_render(
    client: httpx.AsyncClient,
) -> None:
    headers = await register(client)
    blue = pyvips.Image.black(64, 64).new_from_image([0, 0, 255]).cast("uchar")
    logo = bytes(blue.copy(interpretation="srgb").write_to_buffer(".png"))
    logo_id = (
        await client.post(
            "/api/v1/images", headers=headers, files={"image": ("logo.png", logo, "image/png")}
        )
    ).json()["imageId"]
    image_id = (await upload(client, headers, photo(400, 300, ".png"))).json()["imageId"]
    wanted = {
        "resize": {"width": 200},
        "watermark": {"image": "logo.png", "position": "center", "opacity": 1},
        "format": "png",
    }
    url = await mint(client, headers, image_id, transformations=wanted)
    assert f"wi_{logo_id}" in url  # named by filename, put in the URL by id
    answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    centre = pyvips.Image.new_from_buffer(answer.content, "").getpoint(100, 75)
    assert centre[2] > 200 and centre[0] < 60  # the blue mark, over the photo
    query = "width=200&format=png&watermarkImage=logo.png&watermarkPosition=center"
    owned = await client.get(f"/api/v1/images/{image_id}/render?{query}", headers=headers)
    assert owned.status_code == 200, owned.text
    centre = pyvips.Image.new_from_buffer(owned.content, "").getpoint(100, 75)
    assert centre[2] > 150  # opacity 0.5 by default: blue over the photo
    # A mark that is not one of yours, or that is gone, is refused, never a 500.
    refused = await client.post(
        f"/api/v1/images/{image_id}/urls",
        json={"transformations": {"resize": "100x", "watermark": "nobody.png"}},
        headers=headers,
    )
    assert_error(refused, 422, "watermark_not_found")
    unrendered = await mint(
        client, headers, image_id, transformations={**wanted, "resize": {"width": 150}}
    )
    assert (await client.delete(f"/api/v1/images/{logo_id}", headers=headers)).status_code == 204
    assert_error(await client.get(unrendered), 404, "watermark_not_found")
    assert (await client.get(url)).status_code == 200  # made before: kept, like a job's output


async def test_batch_minting_answers_in_order_and_names_the_refused_item(
    client: httpx.AsyncClient,
) -> None:
    headers = await register(client, "alice")
    bob = await register(client, "bob")
    first = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    second = (await upload(client, headers, photo(300, 200))).json()["imageId"]
    items = [
        {"imageId": first, "transformations": {"resize": {"width": 160}}, "autoFormat": True},
        {"imageId": first, "transformations": {"resize": {"width": 320}}, "autoFormat": True},
        {"imageId": second, "expiresIn": 600},
    ]
    r = await client.post("/api/v1/urls", json={"items": items}, headers=headers)
    assert r.status_code == 200, r.text
    minted = r.json()["items"]
    shown = await client.get(f"/api/v1/images/{first}", headers=headers)
    version = f"v_{shown.json()['content_hash'][:8]}"
    assert [m["options"] for m in minted[:2]] == [
        f"w_160,f_auto,{version}",
        f"w_320,f_auto,{version}",
    ]
    assert minted[2]["options"].startswith("v_") and minted[2]["expiresAt"] > time.time()
    single = await mint(client, headers, first, transformations={"resize": {"width": 160}},
                        autoFormat=True)  # fmt: skip
    assert minted[0]["url"] == single
    widths = []
    for m in minted:
        got = await client.get(m["url"], headers={"Accept": "image/webp"})
        assert got.status_code == 200
        widths.append(pyvips.Image.new_from_buffer(got.content, "").width)
    assert widths == [160, 320, 300]
    # all or nothing, naming the item refused
    bad = [items[0], {"imageId": second, "transformations": {"resize": {"width": 0}}}]
    error = assert_error(
        await client.post("/api/v1/urls", json={"items": bad}, headers=headers), 422
    )
    assert error["details"][0]["field"] == "items[1].resize.width"  # type: ignore[index]
    theirs = await client.post("/api/v1/urls", json={"items": items}, headers=bob)
    error = assert_error(theirs, 404, "image_not_found")
    assert error["details"] == [{"field": "items[0]", "message": "Image not found."}]
    for body in ({"items": []}, {"items": [items[0]] * 101}, {"items": [{"imageId": first,
                 "colour": 1}]}, {"imageId": first}):  # fmt: skip
        assert_error(await client.post("/api/v1/urls", json=body, headers=headers), 400)
