"""Serving stored objects: the answer for each kind of stored body, and the headers every
served file carries."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import FileResponse, Response, StreamingResponse

from pixelpress.ports import StoredObject

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


def stored_response(stored: StoredObject, media_type: str, headers: dict[str, str]) -> Response:
    """The answer for a stored object: a file sent with sendfile, bytes, or a stream."""
    if stored.path is not None:
        return FileResponse(stored.path, media_type=media_type, headers=headers)
    if stored.data is not None:
        return Response(stored.data, media_type=media_type, headers=headers)
    assert stored.chunks is not None
    return StreamingResponse(
        stored.chunks, media_type=media_type, headers=headers | {"Content-Length": str(stored.size)}
    )
