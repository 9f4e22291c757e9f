"""Streaming a stored object as a response body."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pixelpress.ports import ObjectStorage


async def object_body(storage: ObjectStorage, key: str) -> AsyncIterator[bytes]:
    """The object's chunks. The first is read here, so a missing object raises NotFound while
    the error envelope can still be sent, not after the response has started."""
    stream = storage.stream(key)
    first = await anext(stream, b"")

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in stream:
            yield chunk

    return body()
