"""EmailSender over SMTP with aiosmtplib: STARTTLS when the server offers it, or TLS from the
start (`implicit_tls`, port 465 by custom)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Email


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
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        implicit_tls: bool = False,
        timeout: float = 10,
    ) -> None:
        self._host = host
        self._port = port
        self._tls = implicit_tls
        self._username = username
        self._password = password
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
