"""PasswordHasher over pwdlib: argon2id for new hashes, bcrypt hashes still verify (and upgrade)."""

from __future__ import annotations

import anyio
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher


class PwdlibPasswordHasher:
    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._hash = PasswordHash((Argon2Hasher(), BcryptHasher()))
        self._limiter = limiter
        self._dummy: str | None = None
        """Made at the first login of an unknown name, not at start-up: an argon2id hash takes
        64 MiB, and a process that never needs it should not peak by that much."""

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hash.hash, password, limiter=self._limiter)

    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        def check() -> tuple[bool, str | None]:
            try:
                return self._hash.verify_and_update(password, hashed)
            except Exception:
                # An unknown or corrupt stored hash is a failed login, never a 500.
                return False, None

        return await anyio.to_thread.run_sync(check, limiter=self._limiter)

    async def dummy_verify(self) -> None:
        if self._dummy is None:
            self._dummy = await self.hash("pixelpress-dummy-password")
        await self.verify("not-the-password", self._dummy)
