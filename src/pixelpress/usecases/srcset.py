"""Responsive image sets: signed URLs of one image at several widths and formats, their `srcset`
strings, and ready markup (`<img srcset sizes>` and `<picture>`), for the image's owner."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pixelpress.domain.errors import Unprocessable
from pixelpress.domain.models import MEDIA_TYPES, Image, ImageLimits, User
from pixelpress.domain.spec import (
    OutputFormat,
    TransformSpec,
    parse_canonical,
    plan,
    to_options,
)
from pixelpress.domain.spec.url import content_version
from pixelpress.ports import Database
from pixelpress.usecases.access import visible_image
from pixelpress.usecases.signed_urls import UrlKeys, sign
from pixelpress.usecases.transforms import resolve_watermark

DEFAULT_WIDTHS = (320, 480, 640, 800, 1024, 1280, 1600, 1920)
"""Without `widths`: those up to the image's width (after a crop), or the image's own width
when it is narrower than all of them."""
FALLBACK_FORMATS = (OutputFormat.JPEG, OutputFormat.PNG, OutputFormat.GIF)
"""Formats every browser shows: the last of `formats`, for `<img>`, should be one."""


@dataclass(frozen=True)
class Candidate:
    format: OutputFormat
    width: int
    """The output's width (the `w` of its srcset entry) and height, as planned."""
    height: int
    url: str


@dataclass(frozen=True)
class ImageSet:
    candidates: tuple[Candidate, ...]
    """By format (in the order asked), then by width."""
    formats: tuple[OutputFormat, ...]
    """The last is the `<img>`'s (the fallback); the others are `<source>`s before it."""
    srcsets: dict[str, str]
    sizes: str
    img: str
    picture: str
    expires_at: int | None


@dataclass(frozen=True)
class SetRequest:
    """What the set is made of: `base` without a width (the widths give it), `widths` and
    `formats` None for the defaults."""

    base: TransformSpec | None
    widths: Sequence[int] | None = None
    formats: Sequence[OutputFormat] | None = None
    sizes: str = "100vw"
    alt: str = ""
    expires_in: int | None = None


async def image_set(
    image_id: str,
    asked: SetRequest,
    *,
    user: User,
    db: Database,
    limits: ImageLimits,
    keys: UrlKeys,
    base_url: str,
    now: float,
) -> ImageSet:
    """Signed URLs of `user`'s image for every width and format; each is planned against the
    image first (a crop outside it, an output past the limits is a 422, as minting says)."""
    base = asked.base
    if base is not None and base.resize is not None and base.resize.width is not None:
        raise Unprocessable(
            "The widths come from 'widths': leave the width out of the base transformation.",
            code="invalid_spec",
            field="transformations",
        )
    if base is not None and base.watermark_image_id is not None:  # from an options string:
        assert base.watermark is not None  # one of the caller's images, by id, to be checked
        base = replace(base, watermark=replace(base.watermark, resolved=False))
    async with db.unit_of_work(readonly=True) as uow:
        image = await visible_image(uow, image_id, user)
        if base is not None:
            base = await resolve_watermark(uow, base, user)
    canonical = base.canonical() if base is not None else {}
    expires = int(now) + asked.expires_in if asked.expires_in else None
    formats = tuple(dict.fromkeys(asked.formats or _default_formats(base, image)))
    candidates: list[Candidate] = []
    for fmt in formats:
        seen: set[int] = set()
        for width in sorted(set(asked.widths or _default_widths(base, image))):
            spec = parse_canonical(_with(canonical, width, fmt))
            out = plan(
                spec,
                width=image.width,
                height=image.height,
                source_format=image.format,
                limits=limits,
            )
            if out.width in seen:  # (a rotation can make two widths one)
                continue
            seen.add(out.width)
            options = to_options(
                spec.canonical(), expires=expires, version=content_version(image.content_hash)
            )
            url = sign(image_id, options, expires, keys=keys, base_url=base_url).url
            candidates.append(Candidate(fmt, out.width, out.height, url))
    return _markup(tuple(candidates), formats, asked, expires)


def _with(canonical: dict[str, Any], width: int, fmt: OutputFormat) -> dict[str, Any]:
    resize = {**canonical.get("resize", {}), "width": width}
    return {**canonical, "resize": resize, "format": str(fmt)}


def _default_widths(base: TransformSpec | None, image: Image) -> tuple[int, ...]:
    source = base.crop.width if base is not None and base.crop is not None else image.width
    return tuple(w for w in DEFAULT_WIDTHS if w <= source) or (source,)


def _default_formats(base: TransformSpec | None, image: Image) -> tuple[OutputFormat, ...]:
    """The base's format alone when it names one; else AVIF and WebP before the image's own
    format (JPEG when the browsers' fallback cannot be it)."""
    if base is not None and base.format is not None:
        return (base.format,)
    own = (base or TransformSpec()).output_format(image.format)
    fallback = own if own in FALLBACK_FORMATS else OutputFormat.JPEG
    return OutputFormat.AVIF, OutputFormat.WEBP, fallback


def _markup(
    candidates: tuple[Candidate, ...],
    formats: tuple[OutputFormat, ...],
    asked: SetRequest,
    expires: int | None,
) -> ImageSet:
    srcsets = {
        str(fmt): ", ".join(f"{c.url} {c.width}w" for c in candidates if c.format is fmt)
        for fmt in formats
    }
    fallback = formats[-1]
    src = [c for c in candidates if c.format is fallback][-1]  # the widest
    sizes = html.escape(asked.sizes)
    img = (
        f'<img src="{html.escape(src.url)}" srcset="{html.escape(srcsets[str(fallback)])}" '
        f'sizes="{sizes}" alt="{html.escape(asked.alt)}" width="{src.width}" '
        f'height="{src.height}">'
    )
    sources = "".join(
        f'<source type="{MEDIA_TYPES[str(fmt)]}" srcset="{html.escape(srcsets[str(fmt)])}" '
        f'sizes="{sizes}">'
        for fmt in formats[:-1]
    )
    return ImageSet(
        candidates,
        formats,
        srcsets,
        asked.sizes,
        img,
        f"<picture>{sources}{img}</picture>",
        expires,
    )
