"""HMAC-SHA256 signatures for the links we hand out (our own `/files/…` download route)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _digest(secret: str, message: str) -> str:
    mac = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def sign(secret: str, path: str, expires: int) -> str:
    """Signature of `path` valid until the unix time `expires`."""
    return _digest(secret, f"{path}\n{expires}")


def verify(secret: str, path: str, expires: int, signature: str, *, now: float) -> bool:
    if expires < now:
        return False
    return hmac.compare_digest(sign(secret, path, expires), signature)
