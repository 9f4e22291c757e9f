from __future__ import annotations

import httpx
import pytest

from pixelpress.bootstrap import Services
from pixelpress.domain.models import Role
from pixelpress.settings import Settings
from tests.api.helpers import PASSWORD, assert_error, drain, register, register_tokens, upload
from tests.api.test_images import stored_files

ADMIN_ROUTES = [
    ("GET", "/api/v1/admin/users", None),
    ("PATCH", "/api/v1/admin/users/x", {"role": "admin"}),
    ("DELETE", "/api/v1/admin/users/x", None),
    ("GET", "/api/v1/admin/images", None),
    ("GET", "/api/v1/admin/stats", None),
]


async def make_admin(client: httpx.AsyncClient, services: Services, name: str) -> dict[str, str]:
    headers = await register(client, name)
    async with services.db.unit_of_work() as uow:
        user = await uow.users.find_by_login(name)
        assert user is not None
        user.role = Role.ADMIN
        await uow.users.update(user)
        await uow.commit()
    return headers


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
async def test_admin_routes_refuse_users(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    headers = await register(client)
    r = await client.request(method, path, json=body, headers=headers)
    assert_error(r, 403, "admin_only")


async def test_role_change_disable_and_delete_take_effect_at_once(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    root = await make_admin(client, services, "root")
    bob = await register_tokens(client, "bob")
    bob_h = {"Authorization": f"Bearer {bob['access_token']}"}
    bob_id = bob["user"]["id"]  # type: ignore[index]
    image_id = (await upload(client, bob_h)).json()["imageId"]
    users = (await client.get("/api/v1/admin/users", headers=root)).json()
    assert users["total"] == 2
    assert {u["username"] for u in users["items"]} == {"root", "bob"}
    # promote: bob's next request is an admin's
    r = await client.patch(f"/api/v1/admin/users/{bob_id}", json={"role": "admin"}, headers=root)
    assert r.json()["role"] == "admin"
    assert (await client.get("/api/v1/admin/stats", headers=bob_h)).status_code == 200
    await client.patch(f"/api/v1/admin/users/{bob_id}", json={"role": "user"}, headers=root)
    assert_error(await client.get("/api/v1/admin/stats", headers=bob_h), 403)
    # no mass assignment on the admin route either
    extra = await client.patch(
        f"/api/v1/admin/users/{bob_id}", json={"email": "x@example.com"}, headers=root
    )
    assert_error(extra, 400)
    # disable: the token stops at once, and login is refused
    await client.patch(f"/api/v1/admin/users/{bob_id}", json={"disabled": True}, headers=root)
    assert_error(await client.get("/api/v1/auth/me", headers=bob_h), 401, "account_disabled")
    login = await client.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD})
    assert_error(login, 401, "invalid_credentials")
    # delete: rows and blobs go
    everything = (await client.get("/api/v1/admin/images", headers=root)).json()
    assert [i["id"] for i in everything["items"]] == [image_id]
    named = await client.get("/api/v1/admin/images?q=PHOTO&sort=filename", headers=root)
    assert [i["id"] for i in named.json()["items"]] == [image_id]
    unnamed = await client.get("/api/v1/admin/images?q=nothing", headers=root)
    assert unnamed.json()["items"] == []
    assert stored_files(settings)
    assert (await client.delete(f"/api/v1/admin/users/{bob_id}", headers=root)).status_code == 204
    assert stored_files(settings) == []
    stats = (await client.get("/api/v1/admin/stats", headers=root)).json()
    assert stats["users"] == 1
    assert stats["images"] == 0
    assert set(stats["jobs"]) == {"queued", "in progress", "processed", "failed"}
    missing = await client.delete(f"/api/v1/admin/users/{bob_id}", headers=root)
    assert_error(missing, 404)
    # admins cannot lock themselves out
    me = (await client.get("/api/v1/auth/me", headers=root)).json()["id"]
    assert_error(await client.delete(f"/api/v1/admin/users/{me}", headers=root), 409)
    demote = await client.patch(f"/api/v1/admin/users/{me}", json={"role": "user"}, headers=root)
    assert_error(demote, 409)
    # the admin actions are in the log service
    events = (await client.get("/api/v1/logs?level=warning", headers=root)).json()
    messages = [e["message"] for e in events["items"]]
    assert any("deleted user bob" in m for m in messages)
    assert any("changed user bob" in m for m in messages)


async def test_stats_count_bytes_and_jobs(client: httpx.AsyncClient, services: Services) -> None:
    root = await make_admin(client, services, "root")
    image = (await upload(client, root)).json()["image"]
    await client.post(f"/api/v1/images/{image['id']}/transform", json={"rotate": 90}, headers=root)
    await drain(services)
    stats = (await client.get("/api/v1/admin/stats", headers=root)).json()
    assert stats["images"] == 1
    assert stats["bytesStored"] > image["size"]  # the original and its variant
    assert stats["jobs"]["processed"] == 1


async def test_logs_create_read_filter_and_privacy(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    r = await client.post(
        "/api/v1/logs",
        json={"logLevel": "error", "message": "upload widget crashed", "context": {"v": "1.2"}},
        headers=alice,
    )
    assert r.status_code == 201, r.text
    assert r.json()["message"] == "Log entry created successfully."
    log_id = r.json()["logId"]
    await client.post(
        "/api/v1/logs",
        json={"logLevel": "info", "message": "old", "timestamp": "2020-01-01T00:00:00Z"},
        headers=alice,
    )
    one = (await client.get(f"/api/v1/logs/{log_id}", headers=alice)).json()
    assert (one["logId"], one["logLevel"], one["message"]) == (
        log_id,
        "error",
        "upload widget crashed",
    )
    assert one["context"] == {"v": "1.2"}
    # bob sees none of it
    body = assert_error(await client.get(f"/api/v1/logs/{log_id}", headers=bob), 404)
    assert body["error"] == "Log entry not found."
    assert (await client.get("/api/v1/logs", headers=bob)).json()["total"] == 0
    # filters
    errors = (await client.get("/api/v1/logs?level=error", headers=alice)).json()
    assert [e["logId"] for e in errors["items"]] == [log_id]
    recent = (await client.get("/api/v1/logs?since=2021-01-01T00:00:00Z", headers=alice)).json()
    assert [e["message"] for e in recent["items"]] == ["upload widget crashed"]
    old = (await client.get("/api/v1/logs?until=2021-01-01T00:00:00Z", headers=alice)).json()
    assert [e["message"] for e in old["items"]] == ["old"]
    # an admin sees everyone's
    root = await make_admin(client, services, "root")
    assert (await client.get(f"/api/v1/logs/{log_id}", headers=root)).status_code == 200
    # bad input
    for bad in (
        {"logLevel": "loud", "message": "x"},
        {"logLevel": "info"},
        {"logLevel": "info", "message": ""},
        {"logLevel": "info", "message": "x", "timestamp": "yesterday"},
        {"logLevel": "info", "message": "x", "timestamp": "2020-01-01T00:00:00"},
        {"logLevel": "info", "message": "x", "userId": "someone-else"},
    ):
        assert_error(await client.post("/api/v1/logs", json=bad, headers=alice), 400)
    assert_error(await client.get("/api/v1/logs?since=notadate", headers=alice), 400)


async def test_pixelpress_records_failed_logins(
    client: httpx.AsyncClient, services: Services
) -> None:
    await register(client, "alice")
    bad = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "nope"})
    assert bad.status_code == 401
    root = await make_admin(client, services, "root")
    logs = (await client.get("/api/v1/logs?level=warning", headers=root)).json()
    failed = [e for e in logs["items"] if e["message"] == "Failed login."]
    assert len(failed) == 1
    assert failed[0]["source"] == "system"
    assert failed[0]["context"]["login"] == "alice"
