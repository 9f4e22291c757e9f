"""`AsyncClient`: the asyncio client, a thin driver of the same programs as `Client`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx
from httpx_sse import EventSource

from pixelpress.client._base import ClientBase
from pixelpress.client._descriptors import Pages
from pixelpress.client._program import Instruction, Program, Refresh, Run, Send, Sleep

T = TypeVar("T")


class AsyncClient(ClientBase[httpx.AsyncBaseTransport]):
    """The Pixelpress API for asyncio: the methods of `Client`, awaited; listings iterate
    with `async for`. Concurrent requests that find the token expired refresh it once.

        async with AsyncClient("http://127.0.0.1:8000") as pp:
            await pp.login("ada", "correct horse battery")
            async for image in pp.iter_images():
                print(image.filename)
    """

    def _open(self, transport: httpx.AsyncBaseTransport | None, options: dict[str, Any]) -> None:
        self._http = httpx.AsyncClient(transport=transport, **options)
        self._refreshing: anyio.Lock | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def run(self, program: Program[T]) -> T:
        run = Run(program)
        while not run.done:
            try:
                run.answer(await self._do(run.step))
            except Exception as exc:  # the program's to handle, or to let through
                run.fail(exc)
        result: T = run.value
        return result

    async def iterate(self, pages: Pages[T]) -> AsyncIterator[T]:
        number: int | None = 1
        while number is not None:
            found = await self.run(pages(number))
            for item in found.items:
                yield item
            number = found.next_page

    async def _do(self, step: Instruction) -> httpx.Response | None:
        if isinstance(step, Sleep):
            await anyio.sleep(step.seconds)
        elif isinstance(step, Refresh):
            self._refreshing = self._refreshing or anyio.Lock()
            async with self._refreshing:
                tokens = self._core.tokens
                if tokens is not None and tokens.access_token == step.stale:
                    await self.run(self._core.refresh())
        else:
            return await self._send(step)
        return None

    async def _send(self, step: Send) -> httpx.Response:
        response = await self._http.send(step.request.build(self._http), stream=True)
        try:
            if response.is_success and step.events is not None:
                async with contextlib.aclosing(EventSource(response).aiter_sse()) as events:
                    async for event in events:
                        if step.events(event):
                            break
            elif response.is_success and step.sink is not None:
                async for chunk in response.aiter_bytes():
                    step.sink(chunk)
            else:
                await response.aread()
        finally:
            await response.aclose()
        return response
