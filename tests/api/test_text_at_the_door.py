"""Text that cannot be stored or answered with (lone surrogates, NUL) is refused where it enters,
whatever route and whatever field, and nothing is written: no read path can fail on it later."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pixelpress.bootstrap import Services
from tests.api.helpers import assert_error, register, upload

SURROGATE_MARK = {"watermark": {"text": "\ud800"}}


def as_json(value: Any) -> dict[str, Any]:
    """Request arguments for a JSON body that httpx could not encode itself (json.dumps escapes
    a lone surrogate as \\ud800, as a hostile client would send it)."""
    return {"content": json.dumps(value), "headers": {"Content-Type": "application/json"}}


async def stored_counts(services: Services) -> tuple[int, int]:
    async with services.db.unit_of_work(readonly=True) as uow:
        stats = await uow.jobs.count_by_status()
        images, _ = await uow.images.totals()
    return images, sum(stats.values())


async def test_a_lone_surrogate_is_refused_on_every_route_and_stores_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    before = await stored_counts(services)
    for path in (
        f"/api/v1/images/{image_id}/transform",
        f"/api/v1/images/{image_id}/process",
        f"/api/v1/images/{image_id}/transform?dryRun=true",
    ):
        for body in (SURROGATE_MARK, {"transformations": SURROGATE_MARK}):
            args = as_json(body)
            r = await client.post(path, content=args["content"], headers=headers | args["headers"])
            error = assert_error(r, 400, "invalid_text")
            assert (
                error["details"]
                == [{"field": "body.transformations.watermark.text", "message": error["error"]}]
                or error["details"][0]["field"] == "body.watermark.text"
            )
    minted = as_json({"transformations": SURROGATE_MARK})
    r = await client.post(
        f"/api/v1/images/{image_id}/urls",
        content=minted["content"],
        headers=headers | minted["headers"],
    )
    assert_error(r, 400, "invalid_text")
    # the same text inside a multipart upload's transformations field
    r = await upload(client, headers, transformations=json.dumps(SURROGATE_MARK))
    assert_error(r, 400, "invalid_text")
    assert await stored_counts(services) == before
    # every read path still answers
    assert (await client.get("/api/v1/images", headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/images/{image_id}", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/images/%00"),
        ("DELETE", "/api/v1/images/%00"),
        ("GET", "/api/v1/jobs/a%00b"),
        ("GET", "/api/v1/logs/%00"),
        ("GET", "/api/v1/images?page=1&q%00=1"),
        ("GET", "/api/v1/logs?imageId=%00"),
        ("GET", "/api/v1/images/IMAGE/render?watermarkText=a%00b"),
    ],
)
async def test_nul_in_paths_and_queries_is_refused(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    r = await client.request(method, path.replace("IMAGE", image_id), headers=headers)
    assert_error(r, 400)
    assert r.json()["code"] in ("invalid_text", "invalid_spec")


@pytest.mark.parametrize(
    "filename", ["a\x00.jpg", "line\nbreak.jpg", "tab\there.jpg", "bell\x07.jpg", "c1\x85.jpg"]
)
async def test_filenames_with_control_characters_are_refused(
    client: httpx.AsyncClient, services: Services, filename: str
) -> None:
    headers = await register(client)
    # By hand: httpx would percent-encode the control characters of a multipart file name.
    boundary = "pixelpress-test-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="image"; filename="{filename}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + (await _photo())
        + f"\r\n--{boundary}--\r\n".encode()
    )
    multipart = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = await client.post("/api/v1/images", headers=headers | multipart, content=body)
    assert_error(r, 400, "invalid_text")
    raw = {"Content-Type": "image/jpeg"}
    r = await client.post(
        "/api/v1/images",
        params={"filename": filename},
        headers=headers | raw,
        content=await _photo(),
    )
    assert_error(r, 400, "invalid_text")
    assert await stored_counts(services) == (0, 0)


async def test_two_files_in_one_upload_are_refused(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    data = await _photo()
    r = await client.post(
        "/api/v1/images",
        headers=headers,
        files=[("image", ("a.jpg", data, "image/jpeg")), ("image", ("b.jpg", data, "image/jpeg"))],
    )
    assert_error(r, 400, "multiple_files")
    r = await client.post(
        "/api/v1/images",
        headers=headers,
        files=[("image", ("a.jpg", data, "image/jpeg")), ("file", ("b.jpg", data, "image/jpeg"))],
    )
    assert_error(r, 400, "multiple_files")
    assert await stored_counts(services) == (0, 0)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/auth/login", {"username": "a", "password": "p", "remember_me": 0}, "remember_me"),
        ("/api/v1/auth/login", {"username": "a", "password": "p", "remember_me": "1"}, "remember_me"),  # noqa: E501
        ("/api/v1/me/notifications", {"email": 0}, "email"),
        ("/api/v1/me/notifications", {"email": "false"}, "email"),
        ("/api/v1/images/IMAGE/urls", {"autoFormat": 0}, "autoFormat"),
        ("/api/v1/images/IMAGE/urls", {"expiresIn": "60"}, "expiresIn"),
        ("/api/v1/images/IMAGE/urls", {"expiresIn": 60.5}, "expiresIn"),
        ("/api/v1/logs", {"logLevel": "ERROR", "message": "m"}, "logLevel"),
        ("/api/v1/logs", {"logLevel": "error ", "message": "m"}, "logLevel"),
        ("/api/v1/logs", {"logLevel": "error", "message": "m", "timestamp": 0.5}, "timestamp"),
        ("/api/v1/logs", {"logLevel": "error", "message": "m", "timestamp": "1700"}, "timestamp"),
        ("/api/v1/logs", {"logLevel": "error", "message": 5}, "message"),
        ("/api/v1/images/IMAGE/transform", {"format": "JPEG "}, "format"),
        ("/api/v1/images/IMAGE/transform", {"rotate": "90"}, "rotate"),
    ],
)  # fmt: skip
async def test_schema_types_are_strict(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    method = "PUT" if path.endswith("/notifications") else "POST"
    r = await client.request(method, path.replace("IMAGE", image_id), json=body, headers=headers)
    assert r.status_code in (400, 422), r.text
    fields = [d["field"] for d in r.json()["details"]]
    assert any(f.split(".")[-1] == field for f in fields), fields


@pytest.mark.parametrize(
    "query",
    ["until=0.5", "since=1700000000", "since=yesterday", "level=ERROR", "level=error%20"],
)
async def test_log_filters_are_strict(client: httpx.AsyncClient, query: str) -> None:
    headers = await register(client)
    assert_error(await client.get(f"/api/v1/logs?{query}", headers=headers), 400)
    ok = await client.get("/api/v1/logs?since=2026-01-01T00:00:00Z&level=error", headers=headers)
    assert ok.status_code == 200


async def test_dry_run_takes_true_or_false(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers)).json()["imageId"]
    path = f"/api/v1/images/{image_id}/transform?dryRun="
    body = {"resize": "100x"}
    assert (await client.post(path + "true", json=body, headers=headers)).status_code == 200
    assert_error(await client.post(path + "yes", json=body, headers=headers), 400)


async def _photo() -> bytes:
    from tests.images import photo

    return photo(64, 48)
