from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import pyvips

from pixelpress.bootstrap import Services
from pixelpress.settings import Settings
from tests.api.helpers import assert_error, drain, register, upload
from tests.conftest import make_settings
from tests.images import bigtiff_declaring, photo, png_declaring


def stored_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_upload_multipart_and_raw(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    r = await upload(client, headers, photo(320, 200))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["message"] == "Image uploaded successfully."
    image = body["image"]
    assert body["imageId"] == image["id"]
    assert (image["format"], image["width"], image["height"]) == ("jpeg", 320, 200)
    assert image["status"] == "uploaded"
    assert image["filename"] == "photo.jpg"
    assert len(image["content_hash"]) == 64
    raw = await client.post(
        "/api/v1/images/upload",
        content=photo(50, 40, ".png"),
        headers={**headers, "Content-Type": "image/png", "X-Filename": "../../etc/passwd.png"},
    )
    assert raw.status_code == 201, raw.text
    assert raw.json()["image"]["format"] == "png"
    assert raw.json()["image"]["filename"] == "passwd.png"  # display text, path stripped


async def test_list_paginates_and_only_shows_own(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    for _ in range(3):
        await upload(client, alice, photo(40, 30))
    await upload(client, bob, photo(40, 30))
    page = (await client.get("/api/v1/images?page=1&limit=2", headers=alice)).json()
    assert (page["page"], page["limit"], page["total"], page["pages"]) == (1, 2, 3, 2)
    assert len(page["items"]) == 2
    page2 = (await client.get("/api/v1/images?page=2&limit=2", headers=alice)).json()
    assert len(page2["items"]) == 1
    ids = {i["id"] for i in page["items"]} | {i["id"] for i in page2["items"]}
    assert len(ids) == 3
    assert_error(await client.get("/api/v1/images?limit=101", headers=alice), 400)
    assert_error(await client.get("/api/v1/images?page=0", headers=alice), 400)


async def test_list_sorts_and_filters_by_filename(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    for name in ["cat.jpg", "Bird.jpg", "catalog.jpg"]:
        r = await client.post(
            "/api/v1/images",
            headers=alice,
            files={"image": (name, photo(40, 30), "image/jpeg")},
        )
        assert r.status_code == 201, r.text
    await client.post(
        "/api/v1/images", headers=bob, files={"image": ("cat-of-bob.jpg", photo(), "image/jpeg")}
    )

    async def names(query: str) -> list[str]:
        r = await client.get(f"/api/v1/images?{query}", headers=alice)
        assert r.status_code == 200, r.text
        return [i["filename"] for i in r.json()["items"]]

    assert await names("") == ["catalog.jpg", "Bird.jpg", "cat.jpg"]  # newest first
    assert await names("sort=created_at") == ["cat.jpg", "Bird.jpg", "catalog.jpg"]
    assert await names("sort=filename") == ["Bird.jpg", "cat.jpg", "catalog.jpg"]
    assert await names("sort=-filename") == ["catalog.jpg", "cat.jpg", "Bird.jpg"]
    assert await names("q=CAT&sort=filename") == ["cat.jpg", "catalog.jpg"]
    r = await client.get("/api/v1/images?q=cat&limit=1", headers=alice)
    assert (r.json()["total"], r.json()["pages"]) == (2, 2)
    for bad in ["sort=name", "sort=%20filename", "sort=FILENAME", f"q={'x' * 201}"]:
        error = assert_error(await client.get(f"/api/v1/images?{bad}", headers=alice), 400)
        assert error["details"], error
    params = {p["name"] for p in (await client.get("/openapi.json")).json()["paths"][
        "/api/v1/images"]["get"]["parameters"]}  # fmt: skip
    assert {"sort", "q", "page", "limit"} <= params


async def test_other_users_image_is_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    image_id = (await upload(client, alice)).json()["imageId"]
    for method, path in [
        ("GET", f"/api/v1/images/{image_id}"),
        ("DELETE", f"/api/v1/images/{image_id}"),
        ("GET", f"/api/v1/images/{image_id}/status"),
        ("GET", f"/api/v1/images/{image_id}/download?variant=original"),
    ]:
        assert_error(await client.request(method, path, headers=bob), 404, "image_not_found")
    theirs = await client.post(
        f"/api/v1/images/{image_id}/transform", json={"rotate": 90}, headers=bob
    )
    assert_error(theirs, 404, "image_not_found")
    assert (await client.get(f"/api/v1/images/{image_id}", headers=alice)).status_code == 200


async def test_delete_removes_rows_and_blobs(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    t = await client.post(
        f"/api/v1/images/{image_id}/transform", json={"resize": "100x"}, headers=headers
    )
    assert t.status_code == 202
    await drain(services)
    assert len(stored_files(settings)) == 2
    assert (await client.delete(f"/api/v1/images/{image_id}", headers=headers)).status_code == 204
    assert stored_files(settings) == []
    assert_error(await client.get(f"/api/v1/images/{image_id}", headers=headers), 404)
    assert_error(await client.get(f"/api/v1/jobs/{t.json()['jobId']}", headers=headers), 404)


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"", "image/jpeg", 400, "empty_file"),
        (photo(200, 200)[:600], "image/jpeg", 400, "invalid_image"),
        (bytes(range(256)) * 8, "image/jpeg", 415, None),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
            "image/svg+xml",
            415,
            None,
        ),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "application/pdf", 415, None),
        (b"<html><body>hi</body></html>", "text/html", 415, None),
        (png_declaring(100_000, 100_000), "image/png", 413, "edge_too_long"),
        (bigtiff_declaring(100_000, 100_000), "image/tiff", 413, "edge_too_long"),
        (b"II+\x00" + bytes(range(256)), "image/tiff", 400, "invalid_image"),
        (b"MM\x00*" + bytes(range(256)), "image/tiff", 400, "invalid_image"),
    ],
    ids=[
        *("empty", "truncated", "random", "svg", "pdf", "html", "bomb", "bigtiff-bomb"),
        *("bigtiff-magic-only", "tiff-magic-only"),
    ],
)
async def test_bad_uploads_are_refused_and_leave_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    data: bytes,
    content_type: str,
    status: int,
    code: str | None,
) -> None:
    headers = await register(client)
    multipart = await client.post(
        "/api/v1/images", headers=headers, files={"image": ("x", data, content_type)}
    )
    assert_error(multipart, status, code)
    raw = await client.post(
        "/api/v1/images", headers={**headers, "Content-Type": content_type}, content=data
    )
    # raw bodies are only taken with an image Content-Type
    expected = status if content_type.startswith("image/") else 415
    assert_error(raw, expected)
    assert stored_files(settings) == []
    assert (await client.get("/api/v1/images", headers=headers)).json()["total"] == 0


async def test_a_bigtiff_is_accepted_and_renders_its_pixels(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    r = await upload(client, headers, photo(120, 90, ".tif", bigtiff=True))
    assert r.status_code == 201, r.text
    image = r.json()["image"]
    assert (image["format"], image["width"], image["height"]) == ("tiff", 120, 90)
    rendered = await client.get(f"/api/v1/images/{image['id']}/render?format=png", headers=headers)
    assert rendered.status_code == 200, rendered.text
    got = pyvips.Image.new_from_buffer(rendered.content, "")
    made = pyvips.Image.new_from_buffer(photo(120, 90, ".png"), "")
    assert (got - made).abs().max() == 0


async def test_unsupported_type_lists_accepted_ones(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    r = await client.post(
        "/api/v1/images", headers={**headers, "Content-Type": "text/plain"}, content=b"hello"
    )
    body = assert_error(r, 415, "unsupported_content_type")
    assert "image/jpeg" in body["details"]["accepted"]  # type: ignore[index]
    missing = await client.post(
        "/api/v1/images", headers=headers, files={"other": ("x.jpg", photo(), "image/jpeg")}
    )
    assert_error(missing, 400, "missing_file")


async def test_limits_are_enforced_with_the_limit_stated(tmp_path: Path) -> None:
    from pixelpress.api.app import create_app
    from pixelpress.bootstrap import build_services

    settings = make_settings(
        tmp_path, max_upload_bytes=20_000, max_edge=500, max_pixels=100_000, max_frames=3
    )
    async with build_services(settings) as services:
        app = create_app(services=services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            big = photo(1000, 1000, ".png")
            assert len(big) > 20_000
            raw = await client.post(
                "/api/v1/images", headers={**headers, "Content-Type": "image/png"}, content=big
            )
            body = assert_error(raw, 413)
            assert body["details"]["limit"] in (20_000, 20_000 + 128 * 1024)  # type: ignore[index]
            multipart = await upload(client, headers, big)
            assert_error(multipart, 413)
            wide = await upload(client, headers, photo(600, 50))
            body = assert_error(wide, 413, "edge_too_long")
            assert body["details"]["limit"] == 500  # type: ignore[index]
            many = await upload(client, headers, pyvips.Image.black(400, 300).pngsave_buffer())
            body = assert_error(many, 413, "too_many_pixels")
            assert body["details"]["limit"] == 100_000  # type: ignore[index]
            levels = [pyvips.Image.black(8, 8) + level for level in (0, 60, 120, 180)]
            frames = pyvips.Image.arrayjoin(levels, across=1).cast("uchar")
            frames.set_type(pyvips.GValue.gint_type, "page-height", 8)
            animated = await upload(client, headers, frames.gifsave_buffer())
            body = assert_error(animated, 413, "too_many_frames")
            assert body["details"] == {"limit": 3, "actual": 4, "what": "frame count"}
            assert "3" in str(body["error"])
            assert stored_files(settings) == []
            # an output over the limits is a spec that makes no sense: 422, naming the limit
            image_id = (await upload(client, headers, photo(100, 100))).json()["imageId"]
            for spec, code, limit in (
                ({"resize": "400x400"}, "too_many_pixels", 100_000),
                (
                    {"resize": {"width": 400, "height": 400, "fit": "fill"}, "rotate": 45},
                    "edge_too_long",
                    500,
                ),
            ):
                r = await client.post(
                    f"/api/v1/images/{image_id}/transform", json=spec, headers=headers
                )
                body = assert_error(r, 422, code)
                assert body["details"][0]["limit"] == limit  # type: ignore[index]


async def test_errors_use_the_envelope_everywhere(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/nope"), 404, "route_not_found")
    assert_error(await client.put("/api/v1/auth/login", json={}), 405, "method_not_allowed")
    # Allow names every method of every route on the path (Starlette gives the first route's).
    wrong = await client.post("/api/v1/images/some-id")
    assert_error(wrong, 405, "method_not_allowed")
    assert wrong.headers["Allow"] == "GET, PUT, DELETE"
    assert (await client.post("/i/sig/w_10/some-id")).headers["Allow"] == "GET, HEAD"
    assert_error(await client.post("/api/v1/auth/login", content=b"{not json"), 400)
    huge = await client.post("/api/v1/auth/login", content=b"x" * (2 * 1024 * 1024))
    assert_error(huge, 413)


async def test_unversioned_routes_answer_too(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    r = await client.get("/api/images", headers=headers)
    assert r.status_code == 200
    assert "/api/images" not in (await client.get("/openapi.json")).json()["paths"]
    assert "/api/v1/images" in (await client.get("/openapi.json")).json()["paths"]
