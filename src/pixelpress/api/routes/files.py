"""/files/…: our own signed, expiring download links for stores that cannot sign (local files)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import Query, Request
from fastapi.responses import StreamingResponse

from pixelpress.api.deps import ServicesDep
from pixelpress.api.routing import api_router
from pixelpress.api.streaming import file_headers, object_body
from pixelpress.bootstrap import Services
from pixelpress.domain import signing
from pixelpress.domain.errors import Forbidden

router = api_router(tags=["files"])


def _message(key: str, name: str, media_type: str) -> str:
    return f"{key}|{name}|{media_type}"


async def download_url(
    services: Services, request: Request, key: str, filename: str, media_type: str
) -> tuple[str, datetime]:
    """A presigned URL from the store, or our own signed /files link; and when it expires. The
    link names the type it is served with (signed with the rest): the format Pixelpress
    recorded, never one guessed from a file name."""
    ttl = services.settings.download_url_seconds
    expires = int(services.clock.now().timestamp()) + ttl
    presigned = await services.storage.presigned_url(key, expires_in=ttl, filename=filename)
    if presigned is not None:
        return presigned, datetime.fromtimestamp(expires, UTC)
    signature = signing.sign(services.secret_key, _message(key, filename, media_type), expires)
    base = services.settings.public_url or str(request.base_url)
    url = (
        f"{base.rstrip('/')}/files/{quote(key)}?name={quote(filename)}"
        f"&type={quote(media_type)}&expires={expires}&signature={signature}"
    )
    return url, datetime.fromtimestamp(expires, UTC)


@router.get("/files/{key:path}", include_in_schema=False)
async def get_file(
    key: str,
    services: ServicesDep,
    expires: int = Query(),
    signature: str = Query(max_length=128),
    name: str = Query(max_length=300),
    type: str = Query(max_length=64),
) -> StreamingResponse:
    ok = signing.verify(
        services.secret_key, _message(key, name, type), expires, signature, now=time.time()
    )
    if not ok:
        raise Forbidden("This download link is invalid or has expired.", code="invalid_signature")
    body = await object_body(services.storage, key)
    headers = {"Cache-Control": "private, max-age=3600", **file_headers(name, attachment=True)}
    return StreamingResponse(body, media_type=type, headers=headers)
