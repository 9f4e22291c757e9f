from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from pixelpress.api.app import create_app
from pixelpress.bootstrap import Services, build_services
from pixelpress.domain.models import NotificationStatus
from pixelpress.usecases.notifications import notify
from tests import receivers
from tests.api.helpers import assert_error, drain, register, register_tokens, running, upload
from tests.conftest import make_settings


@pytest.fixture
def smtp() -> Iterator[tuple[str, receivers.Inbox]]:
    yield from receivers.smtp_server()


@pytest.fixture
def hooks() -> Iterator[receivers.Receiver]:
    yield from receivers.webhook_receiver()


@pytest.fixture
async def stack(
    tmp_path: Path, smtp: tuple[str, receivers.Inbox]
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    settings = make_settings(
        tmp_path,
        smtp_url=smtp[0],
        webhook_allow_loopback=True,
        notification_retry_base_seconds=0.1,
    )
    async with build_services(settings) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield built, client


def verify(secret: str, hook: receivers.Hook) -> bool:
    signed = f"{hook.headers['X-Pixelpress-Id']}.{hook.headers['X-Pixelpress-Timestamp']}."
    expected = hmac.new(secret.encode(), signed.encode() + hook.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(hook.headers["X-Pixelpress-Signature"], f"v1={expected}")


async def test_job_completion_mails_and_calls_the_webhook_with_a_retry(
    stack: tuple[Services, httpx.AsyncClient],
    smtp: tuple[str, receivers.Inbox],
    hooks: receivers.Receiver,
) -> None:
    built, client = stack
    headers = await register(client)
    prefs = await client.put(
        "/api/v1/me/notifications", json={"email": True, "webhookUrl": hooks.url}, headers=headers
    )
    assert prefs.status_code == 200, prefs.text
    secret = prefs.json()["webhookSecret"]
    assert secret.startswith("whsec_")
    again = await client.put(
        "/api/v1/me/notifications", json={"email": True, "webhookUrl": hooks.url}, headers=headers
    )
    assert again.json()["webhookSecret"] is None  # shown once
    read = await client.get("/api/v1/me/notifications", headers=headers)
    assert read.json() == {"email": True, "webhookUrl": hooks.url, "webhookSecret": None}
    hooks.answers = [500]  # the first delivery fails: it must be retried
    image_id = (await upload(client, headers)).json()["imageId"]
    r = await client.post(
        f"/api/v1/images/{image_id}/transform", json={"rotate": 90}, headers=headers
    )
    job_id = r.json()["jobId"]
    await drain(built)
    # the mail, through a real SMTP server
    assert len(smtp[1].messages) == 1
    mail = smtp[1].messages[0]
    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == "Your image is processed"
    assert job_id in mail.get_payload()
    # the webhook: a 500, then the same event again, both signed
    assert len(hooks.received) == 2
    first, second = hooks.received
    assert first.body == second.body
    assert first.headers["X-Pixelpress-Id"] == second.headers["X-Pixelpress-Id"]
    assert verify(secret, first)
    assert verify(secret, second)
    assert not verify("whsec_wrong", second)
    assert second.event["type"] == "job.processed"
    assert second.event["data"]["jobId"] == job_id
    listed = (await client.get("/api/v1/notifications", headers=headers)).json()
    assert listed["total"] == 2
    by_type = {n["notificationType"]: n for n in listed["items"]}
    assert by_type["webhook"]["status"] == "sent"
    assert by_type["webhook"]["attempts"] == 2
    assert by_type["email"]["status"] == "sent"


async def test_webhooks_that_keep_failing_end_failed(
    stack: tuple[Services, httpx.AsyncClient], hooks: receivers.Receiver
) -> None:
    built, client = stack
    tokens = await register_tokens(client)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    await client.put(
        "/api/v1/me/notifications", json={"email": False, "webhookUrl": hooks.url}, headers=headers
    )
    hooks.answers = [503] * 10
    r = await client.post(
        "/api/v1/notifications/send",
        json={"userId": tokens["user"]["id"], "message": "hello", "notificationType": "webhook"},  # type: ignore[index]
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "Notification sent successfully."
    await drain(built)
    status = await client.get(
        f"/api/v1/notifications/{tokens['user']['id']}/status", headers=headers
    )  # type: ignore[index]
    body = status.json()
    assert body["status"] == "failed"
    assert body["attempts"] == 5
    assert body["lastError"] == "HTTP 503"
    assert len(hooks.received) == 5


async def test_send_validates_and_guards_access(stack: tuple[Services, httpx.AsyncClient]) -> None:
    _, client = stack
    alice = await register_tokens(client, "alice")
    bob = await register_tokens(client, "bob")
    alice_h = {"Authorization": f"Bearer {alice['access_token']}"}
    alice_id, bob_id = alice["user"]["id"], bob["user"]["id"]  # type: ignore[index]
    send = "/api/v1/notifications/send"
    bad_type = await client.post(
        send, json={"userId": alice_id, "message": "x", "notificationType": "sms"}, headers=alice_h
    )
    assert_error(bad_type, 400)
    missing = await client.post(send, json={"userId": alice_id}, headers=alice_h)
    assert_error(missing, 400)
    no_hook = await client.post(
        send,
        json={"userId": alice_id, "message": "x", "notificationType": "webhook"},
        headers=alice_h,
    )
    assert_error(no_hook, 400, "no_webhook")
    to_bob = await client.post(
        send, json={"userId": bob_id, "message": "x", "notificationType": "email"}, headers=alice_h
    )
    assert_error(to_bob, 404)
    none_yet = await client.get(f"/api/v1/notifications/{alice_id}/status", headers=alice_h)
    body = assert_error(none_yet, 404)
    assert body["error"] == "No notifications found."
    bobs = await client.get(f"/api/v1/notifications/{bob_id}/status", headers=alice_h)
    assert_error(bobs, 404)


async def test_email_goes_to_the_outbox_on_the_embedded_default(
    tmp_path: Path,
) -> None:
    async with build_services(make_settings(tmp_path)) as built:
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tokens = await register_tokens(client)
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            fresh = await client.get("/api/v1/me/notifications", headers=headers)
            assert fresh.json() == {"email": False, "webhookUrl": None, "webhookSecret": None}
            await client.put("/api/v1/me/notifications", json={"email": True}, headers=headers)
            r = await client.post(
                "/api/v1/notifications/send",
                json={
                    "userId": tokens["user"]["id"],
                    "message": "Hi there",
                    "notificationType": "email",
                },  # type: ignore[index]
                headers=headers,
            )
            assert r.status_code == 200
            await drain(built)
    mails = list((tmp_path / "var" / "outbox").glob("*.eml"))
    assert len(mails) == 1
    text = mails[0].read_text()
    assert "To: alice@example.com" in text
    assert "Hi there" in text


async def test_unsafe_webhook_urls_are_refused_at_registration(tmp_path: Path) -> None:
    async with build_services(make_settings(tmp_path)) as built:  # loopback not allowed
        transport = httpx.ASGITransport(app=create_app(services=built))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await register(client)
            for url in ("http://127.0.0.1:9/x", "http://169.254.169.254/", "file:///etc/passwd"):
                r = await client.put(
                    "/api/v1/me/notifications", json={"webhookUrl": url}, headers=headers
                )
                body = assert_error(r, 400, "unsafe_url")
                assert body["details"][0]["field"] == "webhookUrl"  # type: ignore[index]


async def test_a_mail_sent_again_after_a_crash_keeps_its_message_id(
    stack: tuple[Services, httpx.AsyncClient], smtp: tuple[str, receivers.Inbox]
) -> None:
    built, client = stack
    tokens = await register_tokens(client)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    r = await client.post(
        "/api/v1/notifications/send",
        json={"userId": tokens["user"]["id"], "message": "Hi", "notificationType": "email"},  # type: ignore[index]
        headers=headers,
    )
    notification_id = r.json()["notificationId"]
    await drain(built)
    # The worker was killed after the mail went out, before its outcome was recorded: the row
    # is still pending, and the sweep hands it on again.
    async with built.db.unit_of_work() as uow:
        notification = await uow.notifications.get(notification_id)
        assert notification is not None
        assert notification.status is NotificationStatus.SENT
        notification.status, notification.sent_at = NotificationStatus.PENDING, None
        await uow.notifications.update(notification)
        await uow.commit()
    await notify(notification_id, notifier=built.notifier)
    first, again = smtp[1].messages
    assert first["Message-ID"] == again["Message-ID"] == f"<{notification_id}@pixelpress>"
    assert first["X-Pixelpress-Id"] == again["X-Pixelpress-Id"] == notification_id
    status = await client.get(
        f"/api/v1/notifications/{tokens['user']['id']}/status", headers=headers
    )  # type: ignore[index]
    assert (status.json()["status"], status.json()["attempts"]) == ("sent", 2)


async def test_a_retry_lost_with_its_process_is_sent_after_a_restart(
    tmp_path: Path, hooks: receivers.Receiver
) -> None:
    """A retry waits in the queue; when the process stops first, the retry is lost with it. The
    row says when it was due, so the next start (or any worker's sweep) hands it on again."""
    settings = make_settings(
        tmp_path, webhook_allow_loopback=True, notification_retry_base_seconds=0.2
    )
    hooks.answers = [500]
    async with running(settings) as (built, client):
        tokens = await register_tokens(client)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        await client.put(
            "/api/v1/me/notifications", json={"webhookUrl": hooks.url}, headers=headers
        )
        user_id = tokens["user"]["id"]  # type: ignore[index]
        body = {"userId": user_id, "message": "hi", "notificationType": "webhook"}
        await client.post("/api/v1/notifications/send", json=body, headers=headers)
        while len(hooks.received) < 1:
            await asyncio.sleep(0.01)
    # stopped before the retry was due: it was never sent
    await asyncio.sleep(0.3)
    assert len(hooks.received) == 1
    async with running(settings) as (built, client):
        await drain(built)
        assert len(hooks.received) == 2
        status = await client.get(f"/api/v1/notifications/{user_id}/status", headers=headers)
        assert (status.json()["status"], status.json()["attempts"]) == ("sent", 2)
