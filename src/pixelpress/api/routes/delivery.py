"""On-the-fly delivery: signed transformation URLs, minting them, and the owner's render."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.routing import Route

from pixelpress.api.deps import (
    BaseUrl,
    CacheDep,
    Config,
    CurrentUser,
    Db,
    Deliverer,
    UrlKeysDep,
    services_of,
)
from pixelpress.api.ratelimit import Spender
from pixelpress.api.routing import api_router
from pixelpress.api.streaming import file_headers, stored_response
from pixelpress.api.strict import Strict
from pixelpress.domain.models import ImageLimits, User
from pixelpress.domain.spec import Hint, TransformSpec, parse_query, parse_spec
from pixelpress.ports import Cache, Database
from pixelpress.services import Services
from pixelpress.usecases import delivery, preset_expansion, signed_urls, transforms
from pixelpress.usecases.admission import Budget
from pixelpress.usecases.records import Delivered
from pixelpress.usecases.signed_urls import UrlKeys

router = api_router(tags=["delivery"])


async def _serve(
    image_id: str,
    spec: TransformSpec | None,
    request: Request,
    deliverer: delivery.Deliverer,
    *,
    cache_control: str,
    varies: Mapping[str, str] | None = None,
    viewer: User | None = None,
) -> Response:
    etags = if_none_match(request.headers)
    served = await delivery.serve(
        image_id,
        spec,
        d=deliverer,
        viewer=viewer,
        budget=_budget(request, viewer),
        if_none_match=etags,
    )
    found = served.delivered
    headers = served_headers(image_id, found, cache_control=cache_control, varies=varies)
    if served.not_modified:
        return Response(status_code=304, headers=headers)
    if served.body is None and found.data is not None:  # small or just rendered: from memory
        return Response(found.data, media_type=found.media_type, headers=headers)
    assert served.body is not None
    return stored_response(served.body, found.media_type, headers)


def served_headers(
    image_id: str,
    found: Delivered,
    *,
    cache_control: str,
    varies: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What a delivered variant is answered with, besides its type and length (the hit path
    in api/fastpath.py answers with the same)."""
    headers = {
        "ETag": found.etag,
        "Cache-Control": cache_control,
        **file_headers(f"{image_id}.{found.media_type.rsplit('/', 1)[-1]}"),
    }
    if found.flattened:
        headers["X-Pixelpress-Animation"] = "flattened"
    headers.update(varies or {})  # Vary (and Accept-CH) of a signed URL reading the request
    return headers


def if_none_match(headers: Mapping[str, str]) -> frozenset[str]:
    return frozenset(t.strip() for t in headers.get("if-none-match", "").split(","))


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


async def signed(request: Request) -> Response:
    """A transformation URL: `/i/{signature}/{options}/{imageId}[.ext]` (grammar in the README).

    A plain Starlette route: the hottest path skips FastAPI's parameter solving."""
    services = services_of(request.app)
    read: tuple[signed_urls.SignedRequest, str] | None = request.scope.get(ALREADY_READ)
    if read is None:
        read = await read_signed_request(services, request.path_params, request.headers)
    asked, cache_control = read
    deliverer = services.deliverer
    if asked.presets:  # what it renders is linked to them
        deliverer = replace(deliverer, presets=asked.presets)
    return await _serve(
        asked.image_id,
        asked.spec,
        request,
        deliverer,
        cache_control=cache_control,
        varies=asked.headers(),
    )


ALREADY_READ = "pixelpress.signed"
"""Where the hit path leaves the request it read when it cannot answer it (a variant it does
not hold in memory): the route does not read it twice."""


async def read_signed_request(
    services: Services, params: Mapping[str, str], headers: Mapping[str, str]
) -> tuple[signed_urls.SignedRequest, str]:
    """What a URL asks for (its presets expanded for the image's owner), and the
    Cache-Control its answer carries. Forbidden when the signature is bad or expired, or an
    unsigned URL names anything but public presets."""
    now = time.time()
    asked = await signed_urls.read_url(
        params["signature"],
        params["options"],
        params["image"],
        headers=headers,
        keys=services.url_keys,
        limits=services.api.limits,
        now=now,
        d=services.deliverer,
    )
    return asked, signed_urls.cache_control(asked, now)


def read_plain_request(
    services: Services, params: Mapping[str, str], headers: Mapping[str, str]
) -> tuple[signed_urls.SignedRequest, str] | None:
    """`read_signed_request` of a signed URL that names no preset, read with no lookup (the
    hit path in api/fastpath.py reads URLs this way); None for any other URL."""
    if signed_urls.needs_lookup(params["signature"], params["options"]):
        return None
    now = time.time()
    asked = signed_urls.read_signed(
        params["signature"],
        params["options"],
        params["image"],
        headers=headers,
        keys=services.url_keys,
        limits=services.api.limits,
        now=now,
    )
    return asked, signed_urls.cache_control(asked, now)


class MintIn(Strict):
    transformations: dict[str, Any] | None = None
    preset: str | None = Field(
        default=None,
        max_length=32,
        description="A preset the URL names (`t_{preset}`); `transformations` override it.",
    )
    autoFormat: bool = False
    autoDpr: bool = Field(
        default=False, description="dpr_auto: the resize's edges times the client's DPR hint."
    )
    autoWidth: bool = Field(
        default=False,
        description="w_auto: the width from the client's width hint (the resize's as fallback).",
    )
    expiresIn: int | None = Field(default=None, ge=1, le=10 * 365 * 24 * 3600)


class MintOut(BaseModel):
    url: str
    options: str
    expiresAt: int | None


@dataclass(frozen=True)
class Minter:
    """What minting signed URLs for the caller takes."""

    user: User
    db: Database
    keys: UrlKeys
    limits: ImageLimits
    base_url: str
    cache: Cache
    """Where presets are looked up."""


async def minter(
    user: CurrentUser,
    db: Db,
    keys: UrlKeysDep,
    config: Config,
    base_url: BaseUrl,
    cache: CacheDep,
) -> Minter:
    return Minter(user, db, keys, config.limits, base_url, cache)


MinterDep = Annotated[Minter, Depends(minter)]


async def mint_url(image_id: str, body: MintIn, m: Minter) -> MintOut:
    """A signed URL for the caller's image `image_id`, as `body` asks."""
    spec = parse_spec(body.transformations, limits=m.limits) if body.transformations else None
    minted = await signed_urls.mint_url(
        image_id,
        spec,
        user=m.user,
        db=m.db,
        limits=m.limits,
        keys=m.keys,
        base_url=m.base_url,
        auto_format=body.autoFormat,
        hints=(Hint.DPR,) * body.autoDpr + (Hint.WIDTH,) * body.autoWidth,
        expires_in=body.expiresIn,
        now=time.time(),
        preset=body.preset,
        cache=m.cache,
    )
    return MintOut(url=minted.url, options=minted.options, expiresAt=minted.expires_at)


@router.post("/images/{image_id}/urls", response_model=MintOut)
async def mint(image_id: str, body: MintIn, minter: MinterDep) -> MintOut:
    """A signed URL for one of your images, with the same spec forms as /transform."""
    return await mint_url(image_id, body, minter)


@router.get("/images/{image_id}/render", response_class=StreamingResponse)
async def render(
    image_id: str,
    request: Request,
    user: CurrentUser,
    db: Db,
    deliverer: Deliverer,
    config: Config,
    preset: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Presets (comma-separated) to start from; the other parameters "
            "override them.",
        ),
    ] = None,
) -> Response:
    """The owner's on-the-fly render with the flat query parameters (width, height, fit, …)."""
    params = {k: v for k, v in request.query_params.items() if k != "preset"}
    vary = False
    if preset:
        named, ids, auto = await preset_expansion.render_params(
            image_id,
            preset.split(","),
            user=user,
            db=db,
            cache=deliverer.cache,
            accept=request.headers.get("accept", ""),
        )
        vary = auto and "format" not in params
        params = named | params
        deliverer = replace(deliverer, presets=ids)
    limits = config.limits
    spec = parse_query(params, limits=limits) if params else None
    if spec is not None and spec.watermark_ref is not None and preset:
        # A preset's watermark image was checked when it was defined, and is named by id.
        spec = preset_expansion.preset_watermark(spec, request.query_params)
    if spec is not None and spec.watermark_ref is not None:
        spec = await transforms.settle_spec(image_id, spec, user=user, db=db, limits=limits)
    return await _serve(
        image_id,
        spec,
        request,
        deliverer,
        cache_control="private, max-age=3600",
        varies={"Vary": "Accept"} if vary else None,
        viewer=user,
    )


# Registered ahead of every other route (see api/app.py).
public = Route("/i/{signature}/{options}/{image}", signed, methods=["GET", "HEAD"])
