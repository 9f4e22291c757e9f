"""`Client`: the blocking client, a thin driver of the operations' programs over httpx."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from httpx_sse import EventSource

from pixelpress.client._base import ClientBase
from pixelpress.client._descriptors import Pages
from pixelpress.client._program import Instruction, Program, Refresh, Run, Send, Sleep

T = TypeVar("T")


class Client(ClientBase[httpx.BaseTransport]):
    """The Pixelpress API from Python (blocking; see `AsyncClient` for asyncio). Use it as a
    context manager, or call `close()`. Safe to share between threads.

        with Client("http://127.0.0.1:8000") as pp:
            pp.login("ada", "correct horse battery")
            image = pp.upload("photo.jpg").image
            done = pp.transform(image.id, {"resize": "800x", "format": "webp"}, wait=True)
            pp.download(image.id, "photo.webp", variant=done.variant_id)

    Refusals raise `PixelpressError` subclasses carrying the service's `code`."""

    def _open(self, transport: httpx.BaseTransport | None, options: dict[str, Any]) -> None:
        self._http = httpx.Client(transport=transport, **options)
        self._refreshing = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run(self, program: Program[T]) -> T:
        run = Run(program)
        while not run.done:
            try:
                run.answer(self._do(run.step))
            except Exception as exc:  # the program's to handle, or to let through
                run.fail(exc)
        result: T = run.value
        return result

    def iterate(self, pages: Pages[T]) -> Iterator[T]:
        number: int | None = 1
        while number is not None:
            found = self.run(pages(number))
            yield from found.items
            number = found.next_page

    def _do(self, step: Instruction) -> httpx.Response | None:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
        elif isinstance(step, Refresh):
            with self._refreshing:
                tokens = self._core.tokens
                if tokens is not None and tokens.access_token == step.stale:
                    self.run(self._core.refresh())
        else:
            return self._send(step)
        return None

    def _send(self, step: Send) -> httpx.Response:
        response = self._http.send(step.request.build(self._http), stream=True)
        try:
            if response.is_success and step.events is not None:
                for event in EventSource(response).iter_sse():
                    if step.events(event):
                        break
            elif response.is_success and step.sink is not None:
                for chunk in response.iter_bytes():
                    step.sink(chunk)
            else:
                response.read()
        finally:
            response.close()
        return response
