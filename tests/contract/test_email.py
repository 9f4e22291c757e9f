"""EmailSender's contract over the outbox folder and SMTP (a real aiosmtpd on loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pixelpress.adapters.email_outbox import OutboxEmailSender
from pixelpress.adapters.email_smtp import SmtpEmailSender
from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Email, EmailSender
from tests import receivers
from tests.services import free_port

SENDER = "Pixelpress <noreply@pixelpress.local>"


@pytest.fixture(params=["outbox", "smtp"])
def mailer(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[EmailSender, Callable[[], list[Message]]]]:
    """A sender, and what has arrived so far (the outbox is read after each send: a resend
    rewrites its file)."""
    if request.param == "outbox":
        outbox = tmp_path / "outbox"
        seen: list[Message] = []

        def read_outbox() -> list[Message]:
            seen.extend(message_from_bytes(p.read_bytes()) for p in sorted(outbox.glob("*.eml")))
            return list(seen)

        yield OutboxEmailSender(outbox, sender=SENDER), read_outbox
        return
    server = receivers.smtp_server()
    url, inbox = next(server)
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    try:
        yield (
            SmtpEmailSender(host=address.hostname, port=address.port, sender=SENDER),
            lambda: list(inbox.messages),
        )
    finally:
        server.close()  # stops it


async def test_a_mail_sent_twice_is_the_same_message(
    mailer: tuple[EmailSender, Callable[[], list[Message]]],
) -> None:
    """A worker killed between sending and recording sends again: mail clients and servers see
    the same Message-ID (and X-Pixelpress-Id) and can keep one."""
    sender, received = mailer
    email = Email("ada@example.com", "Your image is processed", "Job j1 is processed.", "n1abc")
    await sender.send(email)
    first = received()
    await sender.send(email)
    both = received()
    assert len(first) == 1
    assert len(both) == 2
    for message in both:
        assert message["Message-ID"] == "<n1abc@pixelpress>"
        assert message["X-Pixelpress-Id"] == "n1abc"
        assert (message["To"], message["Subject"]) == ("ada@example.com", "Your image is processed")
        assert message["From"] == SENDER
        assert message.get_payload().strip() == "Job j1 is processed."
    other = Email("ada@example.com", "Hi", "Another one.", "n2def")
    await sender.send(other)
    assert received()[-1]["Message-ID"] == "<n2def@pixelpress>"


def unreachable(kind: str, tmp_path: Path) -> EmailSender:
    """A sender whose mail cannot go anywhere: nothing listens on the SMTP port; the outbox
    folder's place is taken by a file."""
    if kind == "smtp":
        return SmtpEmailSender(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=5)
    taken = tmp_path / "outbox"
    taken.write_text("not a folder")
    return OutboxEmailSender(taken, sender=SENDER)


@pytest.mark.parametrize(
    "kind",
    [
        "smtp",
        "outbox",
    ],
)
async def test_a_mail_that_cannot_be_sent_is_unavailable(kind: str, tmp_path: Path) -> None:
    """Worth retrying: the notifier backs off and tries again on Unavailable."""
    sender = unreachable(kind, tmp_path)
    email = Email("ada@example.com", "Hi", "Body.", "n3ghi")
    with pytest.raises(Unavailable) as caught:
        await sender.send(email)
    assert isinstance(caught.value.details, dict) and caught.value.details["dependency"]
    if kind == "smtp":
        assert caught.value.details == {"dependency": "smtp"}
