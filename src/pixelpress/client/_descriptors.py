"""How one definition of an operation becomes a method of both clients.

An operation is written once, as a method that returns a program (see `_program`). Decorated
with `@endpoint`, it reads as `Client.get_image(id) -> Image` on the sync client and as
`AsyncClient.get_image(id) -> Awaitable[Image]` on the async one, to a type checker too; with
`@paged`, as an iterator of items over every page, sync or async."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from pixelpress.client._program import Core, Program
from pixelpress.client.models import Page

if TYPE_CHECKING:
    from typing import Self

    from pixelpress.client.aio import AsyncClient
    from pixelpress.client.sync import Client

P = ParamSpec("P")
T = TypeVar("T")

Pages = Callable[[int], Program[Page[T]]]
"""The program that fetches page N (from 1) of a listing."""


class Driver(Protocol):
    def run(self, program: Program[Any]) -> Any: ...

    def iterate(self, pages: Pages[Any]) -> Any: ...


class Endpoints:
    """What every operation sees of its client: the shared state."""

    _core: Core


R = TypeVar("R")


class _Operation(Generic[P, R]):
    """A method built by `build(client, ...)` and handed to the client's driver method `_drive`."""

    _drive: str

    def __init__(self, build: Callable[Concatenate[Any, P], R]) -> None:
        self._build = build
        self.__doc__ = build.__doc__

    def _bind(self, obj: Driver | None) -> Any:
        if obj is None:
            return self
        build, drive = self._build, getattr(obj, self._drive)

        @functools.wraps(build)
        def bound(*args: P.args, **kwargs: P.kwargs) -> Any:
            return drive(build(obj, *args, **kwargs))

        return bound


class endpoint(_Operation[P, Program[T]], Generic[P, T]):
    _drive = "run"

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, obj: Client, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(
        self, obj: AsyncClient, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, obj: Driver | None, owner: type[Any]) -> Any:
        return self._bind(obj)


# "Pages[T]" as a string: at run time Page[T] is a pydantic class, no longer generic in T.
class paged(_Operation[P, "Pages[T]"], Generic[P, T]):
    _drive = "iterate"

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, obj: Client, owner: type[Any]) -> Callable[P, Iterator[T]]: ...

    @overload
    def __get__(self, obj: AsyncClient, owner: type[Any]) -> Callable[P, AsyncIterator[T]]: ...

    def __get__(self, obj: Driver | None, owner: type[Any]) -> Any:
        return self._bind(obj)
