"""EmailSender for the embedded default: each mail is an .eml file in an outbox folder."""

from __future__ import annotations

from pathlib import Path

import anyio

from pixelpress.adapters.email_smtp import build_message
from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Email


class OutboxEmailSender:
    def __init__(self, folder: Path, *, sender: str) -> None:
        self.folder = folder
        self._sender = sender

    async def send(self, email: Email) -> None:
        message = build_message(email, self._sender)
        try:
            await anyio.Path(self.folder).mkdir(parents=True, exist_ok=True)
            # Named by message id: sending the same notification again rewrites one file.
            await anyio.Path(self.folder / f"{email.message_id}.eml").write_bytes(bytes(message))
        except OSError as exc:  # a full disk, a folder it may not write: worth retrying
            raise Unavailable("The outbox folder cannot be written.", dependency="outbox") from exc
