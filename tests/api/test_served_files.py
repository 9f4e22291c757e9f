"""What served answers tell browsers: never to sniff, never to run a served file as a page, and
the type Pixelpress detected, never one guessed from a file name."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pixelpress.api.app import create_app
from pixelpress.api.streaming import FILE_POLICY
from pixelpress.bootstrap import Services, build_services
from tests import services as test_services
from tests.api.helpers import register, upload
from tests.conftest import make_settings
from tests.images import photo


async def test_every_answer_says_nosniff(client: httpx.AsyncClient, services: Services) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    minted = await client.post(f"/api/v1/images/{image_id}/urls", json={}, headers=headers)
    signed = minted.json()["url"]
    link = await client.get(f"/api/v1/images/{image_id}/download?variant=original", headers=headers)
    answers = [
        await client.get("/healthz"),
        await client.get("/readyz"),
        await client.get("/openapi.json"),
        await client.get("/api/v1/images", headers=headers),
        await client.get("/api/v1/images"),  # 401
        await client.get("/api/v1/nowhere"),  # 404
        await client.delete("/healthz"),  # 405
        await client.post("/api/v1/auth/login", content=b"{"),  # 400
        await client.get(signed),
        await client.get(
            signed, headers={"If-None-Match": (await client.get(signed)).headers["etag"]}
        ),
        await client.get(signed.replace("/i/", "/i/x")),  # 403
        await client.get(f"/api/v1/images/{image_id}/render?width=50", headers=headers),
        await client.get(link.json()["downloadUrl"]),
    ]
    for answer in answers:
        assert answer.headers.get("x-content-type-options") == "nosniff", answer.request.url


async def test_served_files_are_sandboxed_and_named(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    minted = await client.post(
        f"/api/v1/images/{image_id}/urls", json={"transformations": {"format": "webp"}},
        headers=headers,
    )  # fmt: skip
    signed = await client.get(minted.json()["url"])
    render = await client.get(f"/api/v1/images/{image_id}/render?width=50", headers=headers)
    link = await client.get(f"/api/v1/images/{image_id}/download?variant=original", headers=headers)
    download = await client.get(link.json()["downloadUrl"])
    for answer, disposition in (
        (signed, f'inline; filename="{image_id}.webp"'),
        (render, f'inline; filename="{image_id}.jpeg"'),
        (download, 'attachment; filename="photo.jpeg"'),
    ):
        assert answer.status_code == 200
        assert answer.headers["content-security-policy"] == FILE_POLICY
        assert answer.headers["content-disposition"].startswith(disposition), answer.headers


@pytest.mark.parametrize(
    ("data", "name", "media_type", "served_name"),
    [
        (photo(40, 30), "holiday.png", "image/jpeg", "holiday.jpeg"),
        (photo(40, 30), "holiday.jpg", "image/jpeg", "holiday.jpeg"),
        (photo(40, 30), "scan.tif", "image/jpeg", "scan.jpeg"),
        (photo(40, 30, ".png"), "noext", "image/png", "noext.png"),
        (photo(40, 30, ".tif"), "scan.jpg", "image/tiff", "scan.tiff"),
        (photo(40, 30, ".webp"), "été.gif", "image/webp", "été.webp"),
    ],
)
async def test_originals_are_served_with_the_detected_type(
    client: httpx.AsyncClient, data: bytes, name: str, media_type: str, served_name: str
) -> None:
    headers = await register(client)
    r = await client.post(
        "/api/v1/images", headers=headers, files={"image": (name, data, "application/octet-stream")}
    )
    assert r.status_code == 201, r.text
    image_id = r.json()["imageId"]
    link = await client.get(f"/api/v1/images/{image_id}/download?variant=original", headers=headers)
    got = await client.get(link.json()["downloadUrl"])
    assert got.status_code == 200
    assert got.headers["content-type"] == media_type
    assert got.headers["content-disposition"].endswith(
        "filename*=UTF-8''" + httpx.URL("/" + served_name).raw_path.decode()[1:]
    )
    tampered = str(link.json()["downloadUrl"]).replace("type=image", "type=text%2Fhtml%3Bx%3Dimage")
    assert (await client.get(tampered)).status_code == 403  # the type is signed


async def test_presigned_s3_downloads_carry_the_detected_type(
    tmp_path: Path, s3_endpoint: str
) -> None:
    bucket = test_services.make_bucket(s3_endpoint)
    settings = make_settings(
        tmp_path,
        storage_url=f"s3://{bucket}/data",
        s3_endpoint_url=s3_endpoint,
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )
    async with build_services(settings) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            headers = await register(client)
            r = await client.post(
                "/api/v1/images",
                headers=headers,
                files={"image": ("looks.png", photo(40, 30), "image/png")},
            )
            image_id = r.json()["imageId"]
            link = await client.get(
                f"/api/v1/images/{image_id}/download?variant=original", headers=headers
            )
    url = link.json()["downloadUrl"]
    assert url.startswith(s3_endpoint)
    async with httpx.AsyncClient() as plain:
        got = await plain.get(url)
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
