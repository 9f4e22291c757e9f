"""DownloadLinks of our own: `/files/{key}?name=&type=&expires=&signature=`, HMAC-signed with the
secret key (over the key, the name, the type and the expiry), for stores that cannot sign links
themselves (local files, memory). The `/files` route checks them with `genuine`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

from pixelpress.domain import signing
from pixelpress.ports import DownloadLink


def _message(key: str, name: str, media_type: str) -> str:
    return f"{key}|{name}|{media_type}"


class SignedFileLinks:
    def __init__(self, secret: str, *, ttl: int, now: Callable[[], datetime]) -> None:
        self._secret = secret
        self._ttl = ttl
        self._now = now

    async def link(
        self, key: str, *, filename: str, media_type: str, base_url: str
    ) -> DownloadLink:
        expires = int(self._now().timestamp()) + self._ttl
        signature = signing.sign(self._secret, _message(key, filename, media_type), expires)
        url = (
            f"{base_url.rstrip('/')}/files/{quote(key)}?name={quote(filename)}"
            f"&type={quote(media_type)}&expires={expires}&signature={signature}"
        )
        return DownloadLink(url, datetime.fromtimestamp(expires, UTC))

    def genuine(
        self, key: str, *, filename: str, media_type: str, expires: int, signature: str
    ) -> bool:
        message = _message(key, filename, media_type)
        return signing.verify(self._secret, message, expires, signature, now=time.time())
