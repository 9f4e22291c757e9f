"""Admission control for on-the-fly renders: a bounded number at once in a process, a short
bounded wait for a slot, then a refusal (503 with Retry-After) rather than a pile of renders that
slows every answer down. Cached hits never come here, so they keep flowing under any load."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from pixelpress.domain.errors import Unavailable

Budget = Callable[[], Awaitable[None]]
"""Spends a render from the caller's budget; raises RateLimited when it is spent."""


class RenderGate:
    def __init__(self, *, slots: int, wait_seconds: float) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._wait = wait_seconds

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait)
        except TimeoutError:
            raise Unavailable(
                "Too many images are being rendered right now; try again shortly.",
                dependency="renderer",
                retry_after=1,
            ) from None
        try:
            yield
        finally:
            self._slots.release()
