"""/files/…: our own signed, expiring download links, for stores that cannot sign (local files).
The links are made and checked by the DownloadLinks port (`adapters/links_signed.py`)."""

from __future__ import annotations

from fastapi import Query, Response

from pixelpress.api.deps import Links, Storage
from pixelpress.api.routing import api_router
from pixelpress.api.streaming import file_headers, stored_response
from pixelpress.domain.errors import Forbidden

router = api_router(tags=["files"])


@router.get("/files/{key:path}", include_in_schema=False)
async def get_file(
    key: str,
    links: Links,
    storage: Storage,
    expires: int = Query(),
    signature: str = Query(max_length=128),
    name: str = Query(max_length=300),
    type: str = Query(max_length=64),
) -> Response:
    genuine = links.genuine(
        key, filename=name, media_type=type, expires=expires, signature=signature
    )
    if not genuine:
        raise Forbidden("This download link is invalid or has expired.", code="invalid_signature")
    stored = await storage.read(key)
    headers = {"Cache-Control": "private, max-age=3600", **file_headers(name, attachment=True)}
    return stored_response(stored, type, headers)
