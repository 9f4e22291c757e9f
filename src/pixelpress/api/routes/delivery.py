"""On-the-fly delivery: signed transformation URLs, minting them, and the owner's render."""

from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

from fastapi import Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.routing import Route

from pixelpress.api.deps import CurrentUser, ServicesDep
from pixelpress.api.ratelimit import Spender
from pixelpress.api.routing import api_router
from pixelpress.api.streaming import file_headers, object_body
from pixelpress.api.strict import Strict
from pixelpress.bootstrap import Services
from pixelpress.domain import signing
from pixelpress.domain.errors import Forbidden, NotFound
from pixelpress.domain.models import ImageLimits, User
from pixelpress.domain.spec import (
    TransformSpec,
    UrlOptions,
    negotiate,
    parse_options,
    parse_query,
    parse_spec,
    to_options,
)
from pixelpress.usecases import delivery
from pixelpress.usecases.admission import Budget

router = api_router(tags=["delivery"])
IMMUTABLE = "public, max-age=31536000, immutable"


def _bad_signature() -> Forbidden:
    return Forbidden("This URL's signature is invalid or has expired.", code="invalid_signature")


async def _serve(
    image_id: str,
    spec: TransformSpec | None,
    request: Request,
    services: Services,
    *,
    cache_control: str,
    vary: bool,
    viewer: User | None = None,
) -> Response:
    budget = _budget(request, viewer)
    d = services.deliverer
    found = await delivery.deliver(image_id, spec, d=d, viewer=viewer, budget=budget)
    try:
        return await _respond(image_id, found, request, services, cache_control, vary)
    except NotFound:
        # The cached record outlived its stored object (purged meanwhile, or lost): once more.
        await delivery.forget(image_id, found, d=d)
        found = await delivery.deliver(image_id, spec, d=d, viewer=viewer, budget=budget)
        return await _respond(image_id, found, request, services, cache_control, vary)


def _budget(request: Request, viewer: User | None) -> Budget:
    """What a render caused by this request costs: the owner's transform bucket (and its
    address's ceiling) for an owner render, the address's render bucket for a signed URL.
    Renders cost the same however they are asked for; cached hits cost nothing."""
    spender: Spender = request.app.state.spender
    address = spender.address(request.scope)
    buckets = spender.buckets
    if viewer is not None:
        caller = f"user:{viewer.id}"
        return lambda: spender.charge("transform", buckets.transform, caller, address)
    return lambda: spender.charge("render", buckets.render, address, address)


async def _respond(
    image_id: str,
    found: delivery.Delivered,
    request: Request,
    services: Services,
    cache_control: str,
    vary: bool,
) -> Response:
    headers = {
        "ETag": found.etag,
        "Cache-Control": cache_control,
        **file_headers(f"{image_id}.{found.media_type.rsplit('/', 1)[-1]}"),
    }
    if found.flattened:
        headers["X-Pixelpress-Animation"] = "flattened"
    if vary:
        headers["Vary"] = "Accept"
    if found.etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    if found.data is not None:  # just rendered, or small enough to be cached: from memory
        return Response(found.data, media_type=found.media_type, headers=headers)
    local = services.storage.local_path(found.key)
    if local is not None:
        try:
            stat = os.stat(local)
        except FileNotFoundError:  # purged between the lookup and now
            raise NotFound("Stored object not found.", code="object_not_found") from None
        return FileResponse(local, media_type=found.media_type, headers=headers, stat_result=stat)
    body = await object_body(services.storage, found.key)
    headers["Content-Length"] = str(found.size)
    return StreamingResponse(body, media_type=found.media_type, headers=headers)


@lru_cache(maxsize=4096)
def _options(options: str, ext: str, negotiated: str, limits: ImageLimits) -> UrlOptions:
    """Parsing is pure: a URL fetched again and again is parsed once."""
    return parse_options(options, ext=ext or None, accept=f"image/{negotiated}", limits=limits)


async def signed(request: Request) -> Response:
    """A transformation URL: `/i/{signature}/{options}/{imageId}[.ext]` (grammar in the README).

    A plain Starlette route: the hottest path skips FastAPI's parameter solving."""
    services: Services = request.app.state.services
    params = request.path_params
    options, image = params["options"], params["image"]
    if not signing.verify_url(services.url_keys, f"{options}/{image}", params["signature"]):
        raise _bad_signature()
    image_id, _, ext = image.partition(".")
    negotiated = negotiate(request.headers.get("accept", "")) if "f_auto" in options else ""
    parsed = _options(options, ext, negotiated, services.settings.limits)
    now = time.time()
    if parsed.expires is not None and parsed.expires < now:
        raise _bad_signature()
    cache_control = IMMUTABLE
    if parsed.expires is not None:
        cache_control = f"public, max-age={max(0, int(parsed.expires - now))}"
    return await _serve(
        image_id,
        parsed.spec,
        request,
        services,
        cache_control=cache_control,
        vary=parsed.auto_format,
    )


class MintIn(Strict):
    transformations: dict[str, Any] | None = None
    autoFormat: bool = False
    expiresIn: int | None = Field(default=None, ge=1, le=10 * 365 * 24 * 3600)


class MintOut(BaseModel):
    url: str
    options: str
    expiresAt: int | None


async def mint_url(
    image_id: str, body: MintIn, *, user: User, services: Services, request: Request
) -> MintOut:
    """A signed URL for `user`'s image `image_id`, as `body` asks."""
    limits = services.settings.limits
    spec = parse_spec(body.transformations, limits=limits) if body.transformations else None
    spec = await delivery.settle_spec(image_id, spec, user=user, db=services.db, limits=limits)
    expires = int(time.time()) + body.expiresIn if body.expiresIn else None
    options = to_options(spec.canonical() if spec else None, auto=body.autoFormat, expires=expires)
    path = f"{options}/{image_id}"
    signature = signing.sign_url(services.url_keys[0], path)
    base = services.settings.public_url or str(request.base_url)
    return MintOut(
        url=f"{base.rstrip('/')}/i/{signature}/{path}", options=options, expiresAt=expires
    )


@router.post("/images/{image_id}/urls", response_model=MintOut)
async def mint(
    image_id: str, body: MintIn, request: Request, user: CurrentUser, services: ServicesDep
) -> MintOut:
    """A signed URL for one of your images, with the same spec forms as /transform."""
    return await mint_url(image_id, body, user=user, services=services, request=request)


@router.get("/images/{image_id}/render", response_class=StreamingResponse)
async def render(
    image_id: str, request: Request, user: CurrentUser, services: ServicesDep
) -> Response:
    """The owner's on-the-fly render with the flat query parameters (width, height, fit, …)."""
    params = dict(request.query_params)
    spec = parse_query(params, limits=services.settings.limits) if params else None
    if spec is not None and spec.watermark_ref is not None:
        spec = await delivery.settle_spec(
            image_id, spec, user=user, db=services.db, limits=services.settings.limits
        )
    return await _serve(
        image_id,
        spec,
        request,
        services,
        cache_control="private, max-age=3600",
        vary=False,
        viewer=user,
    )


# Registered ahead of every other route (see api/app.py).
public = Route("/i/{signature}/{options}/{image}", signed, methods=["GET", "HEAD"])
