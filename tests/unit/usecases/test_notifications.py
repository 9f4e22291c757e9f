"""Sending notifications: a retryable failure is tried again after a growing back-off, the last
attempt's failure is final, and a failure no retry can mend is final at once. The webhook side
is the real sender against a receiver on loopback; mail goes to the outbox, or to an SMTP port
where nothing listens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from pixelpress.adapters.email_outbox import OutboxEmailSender
from pixelpress.adapters.email_smtp import SmtpEmailSender
from pixelpress.adapters.webhook_httpx import HttpxWebhookSender
from pixelpress.domain.models import Notification, NotificationStatus, NotificationType, User
from pixelpress.ports import EmailSender
from pixelpress.usecases.notifications import Notifier, notify, send_notification
from tests import receivers
from tests.fakes import Waiting
from tests.services import free_port
from tests.unit.usecases.conftest import World

SENDER = "Pixelpress <noreply@pixelpress.local>"


@pytest.fixture
def receiver() -> Iterator[receivers.Receiver]:
    yield from receivers.webhook_receiver()


def notifier(world: World, email: EmailSender | None = None, **settings: Any) -> Notifier:
    return Notifier(
        db=world.db,
        queue=world.notices,
        email=email or OutboxEmailSender(world.folder / "outbox", sender=SENDER),
        webhooks=HttpxWebhookSender(timeout=5, allow_loopback=True),
        clock=world.clock,
        **({"max_attempts": 3, "retry_base_seconds": 2} | settings),
    )


async def sent(world: World, owner: User, kind: NotificationType) -> str:
    """A notification `owner` sends themself, taken off the queue as a worker would."""
    made = await send_notification(
        caller=owner,
        user_id=owner.id,
        message="Hello there.",
        kind=kind,
        image_id=None,
        db=world.db,
        queue=world.notices,
        clock=world.clock,
    )
    assert world.notices.take_due() == [made.id]
    return made.id


async def stored(world: World, notification_id: str) -> Notification:
    async with world.db.unit_of_work(readonly=True) as uow:
        found = await uow.notifications.get(notification_id)
    assert found is not None
    return found


async def hooked(world: World, receiver: receivers.Receiver) -> User:
    return await world.user(webhook_url=receiver.url, webhook_secret="whsec_test")


async def test_retryable_webhook_failures_back_off_then_deliver(
    world: World, receiver: receivers.Receiver
) -> None:
    owner = await hooked(world, receiver)
    receiver.answers = [500, 503]
    the = notifier(world, max_attempts=3, retry_base_seconds=2)
    note_id = await sent(world, owner, NotificationType.WEBHOOK)

    for attempt, back_off, error in ((1, 2, "HTTP 500"), (2, 4, "HTTP 503")):
        assert await notify(note_id, notifier=the) is NotificationStatus.PENDING
        note = await stored(world, note_id)
        assert (note.attempts, note.last_error) == (attempt, error)
        due = world.clock.now() + timedelta(seconds=back_off)
        assert world.notices.waiting == [Waiting(note_id, due)]
        world.clock.advance(back_off - 1)
        assert world.notices.take_due() == []
        world.clock.advance(1)
        assert world.notices.take_due() == [note_id]

    assert await notify(note_id, notifier=the) is NotificationStatus.SENT
    note = await stored(world, note_id)
    assert (note.status, note.attempts, note.last_error) == (NotificationStatus.SENT, 3, None)
    assert note.sent_at == world.clock.now()
    assert world.notices.waiting == []
    # each attempt was the same event: the receiver can keep one
    assert len(receiver.received) == 3
    assert {hook.headers["X-Pixelpress-Id"] for hook in receiver.received} == {note_id}
    assert len({hook.body for hook in receiver.received}) == 1
    assert await notify(note_id, notifier=the) is None  # sent: nothing more to do


async def test_the_last_attempt_s_failure_is_final(
    world: World, receiver: receivers.Receiver
) -> None:
    owner = await hooked(world, receiver)
    receiver.answers = [502, 502, 502, 502]
    the = notifier(world, max_attempts=3)
    note_id = await sent(world, owner, NotificationType.WEBHOOK)
    for _ in range(2):
        assert await notify(note_id, notifier=the) is NotificationStatus.PENDING
        world.clock.advance(world.notices.waiting[0].due - world.clock.now())
        assert world.notices.take_due() == [note_id]
    assert await notify(note_id, notifier=the) is NotificationStatus.FAILED
    note = await stored(world, note_id)
    assert (note.status, note.attempts, note.last_error) == (
        NotificationStatus.FAILED,
        3,
        "HTTP 502",
    )
    assert world.notices.waiting == [] and len(receiver.received) == 3


@pytest.mark.parametrize("answer", [400, 404, 410])
async def test_a_refusal_is_final_at_once(
    world: World, receiver: receivers.Receiver, answer: int
) -> None:
    owner = await hooked(world, receiver)
    receiver.answers = [answer]
    note_id = await sent(world, owner, NotificationType.WEBHOOK)
    assert await notify(note_id, notifier=notifier(world)) is NotificationStatus.FAILED
    note = await stored(world, note_id)
    assert (note.attempts, note.last_error) == (1, f"HTTP {answer}")
    assert world.notices.waiting == [] and len(receiver.received) == 1


async def test_an_unsafe_webhook_address_fails_at_once_sending_nothing(world: World) -> None:
    # Registered when it was public; it resolves to an internal address now.
    owner = await world.user(webhook_url="http://10.1.2.3/hook", webhook_secret="whsec_test")
    note_id = await sent(world, owner, NotificationType.WEBHOOK)
    assert await notify(note_id, notifier=notifier(world)) is NotificationStatus.FAILED
    note = await stored(world, note_id)
    assert note.attempts == 1 and note.last_error is not None and "10.1.2.3" in note.last_error
    assert world.notices.waiting == []


async def test_mail_is_retried_while_the_server_is_away(world: World) -> None:
    owner = await world.user(notify_email=True)
    away = SmtpEmailSender(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=5)
    note_id = await sent(world, owner, NotificationType.EMAIL)

    assert await notify(note_id, notifier=notifier(world, away)) is NotificationStatus.PENDING
    note = await stored(world, note_id)
    assert (note.attempts, note.last_error) == (1, "The mail server is unavailable.")
    assert world.notices.waiting == [Waiting(note_id, world.clock.now() + timedelta(seconds=2))]
    world.clock.advance(2)
    assert world.notices.take_due() == [note_id]

    outbox = world.folder / "outbox"
    back = notifier(world, OutboxEmailSender(outbox, sender=SENDER))  # the server is back
    assert await notify(note_id, notifier=back) is NotificationStatus.SENT
    note = await stored(world, note_id)
    assert (note.attempts, note.last_error, note.sent_at) == (2, None, world.clock.now())
    [mail] = [message_from_bytes(p.read_bytes()) for p in Path(outbox).glob("*.eml")]
    assert mail["To"] == owner.email and mail["Message-ID"] == f"<{note_id}@pixelpress>"
