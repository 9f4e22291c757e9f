"""Serving stored objects: the response body, and the headers every served file carries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from pixelpress.ports import ObjectStorage

FILE_POLICY = "default-src 'none'; sandbox"
"""A served file is never a page: even bytes a browser might take for HTML (an original is kept
byte for byte, and image formats have room for anything in their ancillary chunks) run no script,
load nothing and reach no cookie of ours."""


def file_headers(filename: str, *, attachment: bool = False) -> dict[str, str]:
    """Content-Security-Policy and Content-Disposition for a served file (RFC 6266: an ASCII
    fallback name, and the exact one in UTF-8). `X-Content-Type-Options: nosniff` is on every
    answer already (api/observability.py)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    disposition = "attachment" if attachment else "inline"
    return {
        "Content-Security-Policy": FILE_POLICY,
        "Content-Disposition": (
            f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
        ),
    }


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
