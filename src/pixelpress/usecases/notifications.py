"""Notifications: preferences, sending (by hand or when a job ends), with retries."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pixelpress.domain.backoff import backoff
from pixelpress.domain.errors import Forbidden, InvalidInput, NotFound, Unavailable
from pixelpress.domain.ids import new_id
from pixelpress.domain.models import (
    Job,
    JobStatus,
    Notification,
    NotificationStatus,
    NotificationType,
    Page,
    PageOf,
    User,
)
from pixelpress.ports import (
    Clock,
    Database,
    Email,
    EmailSender,
    TaskQueue,
    UnitOfWork,
    WebhookSender,
)
from pixelpress.usecases.access import may_see

MAX_MESSAGE = 2000


@dataclass(frozen=True)
class Notifier:
    """What sending notifications needs. `queue` is the notification queue (its own consumers:
    a slow receiver never holds an image job's slot)."""

    db: Database
    queue: TaskQueue
    email: EmailSender
    webhooks: WebhookSender
    clock: Clock
    max_attempts: int = 5
    retry_base_seconds: float = 2.0

    def retry_delay(self, attempts: int) -> float:
        return backoff(self.retry_base_seconds, attempts, cap=600)


@dataclass(frozen=True)
class Preferences:
    email: bool
    webhook_url: str | None
    webhook_secret: str | None
    """Shown once: only in the answer that set a new webhook URL."""


def preferences_of(user: User) -> Preferences:
    """What `user` has chosen; a webhook's secret is never shown again after it was set."""
    return Preferences(user.notify_email, user.webhook_url, None)


async def set_preferences(
    *, user: User, email: bool, webhook_url: str | None, db: Database, webhooks: WebhookSender
) -> Preferences:
    if webhook_url:
        if len(webhook_url) > 2048:
            raise InvalidInput("The webhook URL is too long.", field="webhookUrl")
        try:
            await webhooks.check_url(webhook_url)
        except Forbidden as exc:
            raise InvalidInput(exc.message, code="unsafe_url", field="webhookUrl") from exc
    new_secret = None
    async with db.unit_of_work() as uow:
        current = await uow.users.get(user.id)
        assert current is not None
        if webhook_url and webhook_url != current.webhook_url:
            new_secret = f"whsec_{secrets.token_urlsafe(32)}"
            current.webhook_secret = new_secret
        elif not webhook_url:
            current.webhook_secret = None
        current.notify_email = email
        current.webhook_url = webhook_url or None
        await uow.users.update(current)
        await uow.commit()
    return Preferences(email, webhook_url or None, new_secret)


def _new(
    user_id: str, kind: NotificationType, message: str, clock: Clock, **fields: str | None
) -> Notification:
    return Notification(
        id=new_id(),
        user_id=user_id,
        type=kind,
        message=message,
        status=NotificationStatus.PENDING,
        created_at=clock.now(),
        **fields,  # type: ignore[arg-type]
    )


async def send_notification(
    *,
    caller: User,
    user_id: str,
    message: str,
    kind: NotificationType,
    image_id: str | None,
    db: Database,
    queue: TaskQueue,
    clock: Clock,
) -> Notification:
    """A notification asked for by hand: to oneself, or to anyone by an admin."""
    if not may_see(caller, user_id):
        raise NotFound("User not found.", code="user_not_found")
    if not message.strip() or len(message) > MAX_MESSAGE:
        raise InvalidInput(f"The message must be 1 to {MAX_MESSAGE} characters.", field="message")
    async with db.unit_of_work() as uow:
        target = await uow.users.get(user_id)
        if target is None:
            raise NotFound("User not found.", code="user_not_found")
        if kind is NotificationType.WEBHOOK and not target.webhook_url:
            raise InvalidInput(
                "This user has no webhook URL; set one with PUT /api/v1/me/notifications.",
                code="no_webhook",
                field="notificationType",
            )
        if image_id is not None:
            image = await uow.images.get(image_id)
            if image is None or image.owner_id != target.id:
                raise NotFound("Image not found.", code="image_not_found")
        notification = _new(target.id, kind, message, clock, image_id=image_id)
        await uow.notifications.add(notification)
        await uow.commit()
    await hand_on(queue, notification.id)
    return notification


async def notify_job_outcome(uow: UnitOfWork, job: Job, clock: Clock) -> list[str]:
    """Inside the transaction that finishes `job`: the notifications its owner chose. Returns
    their ids, for the caller to hand on after commit."""
    user = await uow.users.get(job.owner_id)
    if user is None:
        return []
    done = job.status is JobStatus.PROCESSED
    event = "job.processed" if done else "job.failed"
    message = (
        f"Job {job.id} for image {job.image_id} is processed."
        if done
        else f"Job {job.id} for image {job.image_id} failed: {job.error or 'unknown error'}"
    )
    kinds = [NotificationType.EMAIL] if user.notify_email else []
    if user.webhook_url:
        kinds.append(NotificationType.WEBHOOK)
    created = []
    for kind in kinds:
        notification = _new(
            user.id, kind, message, clock, event=event, image_id=job.image_id, job_id=job.id
        )
        await uow.notifications.add(notification)
        created.append(notification.id)
    return created


async def hand_on(queue: TaskQueue, notification_id: str, *, delay: float = 0) -> None:
    # At least once: receivers deduplicate by X-Pixelpress-Id (emails by their Message-ID).
    with contextlib.suppress(Unavailable):  # the row stays pending; the sweep hands it on
        await queue.publish(notification_id, delay=delay)


def webhook_body(notification: Notification) -> bytes:
    """The event as JSON; the same bytes on every attempt, so the receiver can deduplicate."""
    event = {
        "id": notification.id,
        "type": notification.event,
        "createdAt": notification.created_at.isoformat(),
        "data": {
            "message": notification.message,
            "userId": notification.user_id,
            "imageId": notification.image_id,
            "jobId": notification.job_id,
        },
    }
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


def sign_webhook(secret: str, notification_id: str, timestamp: int, body: bytes) -> str:
    """v1=HMAC-SHA256(secret, "{id}.{timestamp}.{body}") in hex."""
    signed = f"{notification_id}.{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


async def notify(notification_id: str, *, notifier: Notifier) -> NotificationStatus | None:
    """One attempt at sending a notification. Retryable failures are tried again later with
    back-off; the last attempt's failure marks the notification failed. None: nothing to do."""
    async with notifier.db.unit_of_work() as uow:
        notification = await uow.notifications.get(notification_id)
        if notification is None or notification.status is not NotificationStatus.PENDING:
            return None
        user = await uow.users.get(notification.user_id)
        notification.attempts += 1
        notification.next_attempt_at = notifier.clock.now()  # under way: see `lost`
        await uow.notifications.update(notification)
        await uow.commit()
    if user is None:
        return None
    # From the send to the commit below: one UPDATE and nothing else. A crash in between
    # leaves the row pending, and it is sent again, with the same Message-ID or X-Pixelpress-Id.
    retry, error = await _attempt(notification, user, notifier)
    notification.last_error = error
    if error is None:
        notification.status = NotificationStatus.SENT
        notification.sent_at = notifier.clock.now()
    elif not retry or notification.attempts >= notifier.max_attempts:
        notification.status = NotificationStatus.FAILED
    delay = notifier.retry_delay(notification.attempts)
    if notification.status is NotificationStatus.PENDING:
        notification.next_attempt_at = notifier.clock.now() + timedelta(seconds=delay)
    async with notifier.db.unit_of_work() as uow:
        await uow.notifications.update(notification)
        await uow.commit()
    if notification.status is NotificationStatus.PENDING:
        await hand_on(notifier.queue, notification.id, delay=delay)
    return notification.status


async def _attempt(notification: Notification, user: User, d: Notifier) -> tuple[bool, str | None]:
    """(worth retrying, error or None when sent)."""
    if notification.type is NotificationType.EMAIL:
        subject = {
            "job.processed": "Your image is processed",
            "job.failed": "Your image could not be processed",
        }.get(notification.event, "A message from Pixelpress")
        try:
            await d.email.send(Email(user.email, subject, notification.message, notification.id))
        except Unavailable as exc:
            return True, exc.message
        return False, None
    if not user.webhook_url or not user.webhook_secret:
        return False, "No webhook URL is set."
    body = webhook_body(notification)
    timestamp = int(d.clock.now().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Pixelpress-Webhooks/1",
        "X-Pixelpress-Id": notification.id,
        "X-Pixelpress-Timestamp": str(timestamp),
        "X-Pixelpress-Signature": sign_webhook(
            user.webhook_secret, notification.id, timestamp, body
        ),
    }
    try:
        result = await d.webhooks.post(user.webhook_url, body, headers)
    except Forbidden as exc:
        return False, exc.message
    if result.accepted:
        return False, None
    return result.retryable, result.error


async def latest(*, caller: User, user_id: str, db: Database) -> Notification:
    if not may_see(caller, user_id):
        raise NotFound("No notifications found.", code="notification_not_found")
    async with db.unit_of_work(readonly=True) as uow:
        found = await uow.notifications.latest(user_id)
    if found is None:
        raise NotFound("No notifications found.", code="notification_not_found")
    return found


async def list_notifications(*, user: User, page: Page, db: Database) -> PageOf[Notification]:
    async with db.unit_of_work(readonly=True) as uow:
        return await uow.notifications.list_page(user.id, page)
