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
    return equal(sign(secret, path, expires), signature)


def sign_url(key: str, path: str) -> str:
    """The signature segment of a transformation URL: 32 URL-safe characters (192 bits)."""
    return _digest(key, path)[:32]


def verify_url(keys: list[str], path: str, signature: str) -> bool:
    """True when any of `keys` signed `path`: several keys are accepted while one is rotated."""
    return any(equal(sign_url(key, path), signature) for key in keys)


def equal(expected: str, given: str) -> bool:
    """Whether a secret given by a client is the expected one, in constant time. As bytes:
    compare_digest raises on strings with non-ASCII characters, which clients can send."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))
