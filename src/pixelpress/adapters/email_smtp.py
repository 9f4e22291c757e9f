"""EmailSender over SMTP with aiosmtplib: `smtp://user:pass@host:587` (STARTTLS when offered)
or `smtps://…:465` (TLS from the start)."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlparse

import aiosmtplib

from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Email

SCHEMES = ("smtp", "smtps")


def build_message(email: Email, sender: str) -> EmailMessage:
    """The mail for `email`. Its Message-ID (and X-Pixelpress-Id, as on webhooks) derive from
    the notification's id alone, so a mail sent again after a crash is the same message to
    every client and server that deduplicates (make_msgid would draw a new one each time)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = f"<{email.message_id}@pixelpress>"
    message["X-Pixelpress-Id"] = email.message_id
    message.set_content(email.body)
    return message


class SmtpEmailSender:
    def __init__(self, url: str, *, sender: str, timeout: float = 10) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in SCHEMES:
            raise ValueError(
                f"Unsupported SMTP URL scheme {parsed.scheme!r}; use one of: smtp, smtps"
            )
        self._host = parsed.hostname or "localhost"
        self._port = parsed.port or (465 if parsed.scheme == "smtps" else 25)
        self._tls = parsed.scheme == "smtps"
        self._username = unquote(parsed.username) if parsed.username else None
        self._password = unquote(parsed.password) if parsed.password else None
        self._sender = sender
        self._timeout = timeout

    async def send(self, email: Email) -> None:
        try:
            await aiosmtplib.send(
                build_message(email, self._sender),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._tls,
                start_tls=None if not self._tls else False,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise Unavailable("The mail server is unavailable.", dependency="smtp") from exc
