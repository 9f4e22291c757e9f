"""Many signed URLs in one request: POST /urls (any images and specs, such as a page of
thumbnails) and POST /images/{id}/srcset (one image at several widths and formats, with its
responsive markup)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pixelpress.api.routes.delivery import MinterDep, MintIn, MintOut, mint_url
from pixelpress.api.routing import api_router
from pixelpress.api.strict import Strict
from pixelpress.domain.errors import DomainError, Unprocessable
from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec import OutputFormat, TransformSpec, parse_options, parse_spec
from pixelpress.usecases import srcset

router = api_router(tags=["delivery"])
MAX_ITEMS = 100
MAX_WIDTHS = 16
MAX_FORMATS = 4


class MintItem(MintIn):
    imageId: str = Field(max_length=64)


class MintManyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[MintItem] = Field(min_length=1, max_length=MAX_ITEMS)


class MintManyOut(BaseModel):
    items: list[MintOut]


def _name_item(exc: DomainError, index: int) -> DomainError:
    """The error of item `index`, its fields named from the request's root (`items[2]...`)."""
    where = f"items[{index}]"
    if isinstance(exc.details, list) and all(
        isinstance(d, dict) and "field" in d for d in exc.details
    ):
        exc.details = [{**d, "field": f"{where}.{d['field']}"} for d in exc.details]
    elif exc.details is None:
        exc.details = [{"field": where, "message": exc.message}]
    return exc


@router.post("/urls", response_model=MintManyOut)
async def mint_many(body: MintManyIn, minter: MinterDep) -> MintManyOut:
    """Up to 100 signed URLs, each item as `POST /images/{imageId}/urls` takes it, answered in
    order. All or nothing: the first item refused refuses the request, naming it in `details`."""
    minted: list[MintOut] = []
    for index, item in enumerate(body.items):
        try:
            minted.append(await mint_url(item.imageId, item, minter))
        except DomainError as exc:
            raise _name_item(exc, index) from None
    return MintManyOut(items=minted)


FormatName = Literal["avif", "webp", "jpeg", "png", "gif"]


class SrcsetIn(Strict):
    widths: list[Annotated[int, Field(ge=1, le=100_000)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_WIDTHS,
        description="Output widths in pixels; by default 320..1920 up to the image's width.",
    )
    formats: list[FormatName] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_FORMATS,
        description="One srcset per format, best first; the last is the <img>'s fallback "
        "(by default avif, webp and the image's own format, or jpeg).",
    )
    sizes: str = Field(default="100vw", min_length=1, max_length=1000)
    alt: str = Field(default="", max_length=1000)
    options: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="The base transformation as URL options (h_300,c_cover,e_sepia), without "
        "w_, f_auto, dpr_auto, w_auto or exp_.",
    )
    transformations: dict[str, Any] | None = Field(
        default=None, description="The base transformation as a JSON spec, without a width."
    )
    expiresIn: int | None = Field(default=None, ge=1, le=10 * 365 * 24 * 3600)


class SrcsetUrl(BaseModel):
    format: str
    width: int
    height: int
    url: str


class SrcsetOut(BaseModel):
    urls: list[SrcsetUrl]
    srcset: dict[str, str] = Field(description="Per format: 'url 320w, url 640w, ...'.")
    sizes: str
    img: str = Field(description="<img src srcset sizes alt width height> in the fallback format.")
    picture: str = Field(description="<picture>: a <source> per other format, then the <img>.")
    expiresAt: int | None


def _base(body: SrcsetIn, limits: ImageLimits) -> TransformSpec | None:
    if body.options is not None and body.transformations is not None:
        raise Unprocessable(
            "Give the base transformation as options or as transformations, not both.",
            code="invalid_spec",
            field="options",
        )
    if body.transformations:
        return parse_spec(body.transformations, limits=limits)
    if body.options is None:
        return None
    parsed = parse_options(body.options, limits=limits)
    if parsed.auto_format or parsed.hints or parsed.expires is not None:
        raise Unprocessable(
            "The base options cannot hold f_auto, dpr_auto, w_auto or exp_: the set lists "
            "its formats and widths, and expiresIn its expiry.",
            code="invalid_options",
            field="options",
        )
    return parsed.spec


@router.post("/images/{image_id}/srcset", response_model=SrcsetOut)
async def image_set(image_id: str, body: SrcsetIn, m: MinterDep) -> SrcsetOut:
    """Signed URLs of one of your images at several widths and formats, their srcset strings,
    and ready markup: an `<img srcset sizes>` and a `<picture>` with a `<source>` per extra
    format. All or nothing: a width the image cannot give (past the limits) refuses the set."""
    asked = srcset.SetRequest(
        base=_base(body, m.limits),
        widths=body.widths,
        formats=[OutputFormat(f) for f in body.formats] if body.formats else None,
        sizes=body.sizes,
        alt=body.alt,
        expires_in=body.expiresIn,
    )
    made = await srcset.image_set(
        image_id,
        asked,
        user=m.user,
        db=m.db,
        limits=m.limits,
        keys=m.keys,
        base_url=m.base_url,
        now=time.time(),
    )
    return SrcsetOut(
        urls=[
            SrcsetUrl(format=str(c.format), width=c.width, height=c.height, url=c.url)
            for c in made.candidates
        ],
        srcset=made.srcsets,
        sizes=made.sizes,
        img=made.img,
        picture=made.picture,
        expiresAt=made.expires_at,
    )
