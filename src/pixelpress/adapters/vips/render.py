"""The transformation chain, in the order `domain.spec` documents: load only the pixels the spec
needs (shrink on load, crop), then turn, flip, filter, watermark and encode.

Animated GIF and WebP keep their frames through chains that work frame by frame (see
`animation`); other chains render the first frame and say so (`Rendered.flattened`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pyvips

from pixelpress.adapters.vips.animation import frame_height, load_animated
from pixelpress.adapters.vips.ingest import check_header, head, open_as, orientation, sniff
from pixelpress.adapters.vips.pixels import (
    apply_filters,
    composite,
    encode,
    image_mark,
    pad,
    rotate,
    srgb,
    text_mark,
)
from pixelpress.adapters.vips.rules import LARGE_PIXELS, keeps_frames
from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.faces import FACE_GRAVITIES, Focus, cover_offsets
from pixelpress.domain.models import ImageFormat, ImageLimits, Rendered
from pixelpress.domain.spec import (
    Fit,
    Gravity,
    ResizeGeometry,
    TransformSpec,
    check_output,
    plan,
    resize_geometry,
)

FRAME_FIELDS = ("page-height", "n-pages", "delay", "loop", "gif-palette")
LARGE_RESIDUAL = 1.5

P = ParamSpec("P")
R = TypeVar("R")


def _invalid_on_libvips_error(work: Callable[P, R]) -> Callable[P, R]:
    """libvips' errors become InvalidInput: its own message can name temporary files, so it
    stays out of the answer."""

    @wraps(work)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return work(*args, **kwargs)
        except pyvips.Error as exc:
            raise InvalidInput(
                "The image could not be processed; it may be corrupt.", code="invalid_image"
            ) from exc

    return guarded


@_invalid_on_libvips_error
def render_spec(
    source: bytes | Path,
    spec: TransformSpec,
    watermark: bytes | None,
    *,
    limits: ImageLimits,
    font: str,
    font_file: str | None,
    focus: Focus | None = None,
    master: bool = False,
) -> Rendered:
    """`spec` applied to `source` (see `ImageProcessor.render`). Blocking."""
    fmt = sniff(head(source))
    if fmt is None:
        raise InvalidInput("The stored image is not of an accepted type.", code="invalid_image")
    width, height, frames = check_header(open_as(source, fmt), fmt, limits)
    target = plan(spec, width=width, height=height, source_format=fmt, limits=limits)
    if frames > 1 and keeps_frames(spec, target.format):
        strip = apply_filters(srgb(load_animated(source, spec, width, height)), spec)
        data = encode(strip, target.format, spec.quality_for(target.format))
        return Rendered(data, target.format, strip.width, frame_height(strip))
    image = srgb(_single_frame(_load_sized(source, fmt, spec, width, height, focus)))
    if spec.rotate:
        image = rotate(image, spec.rotate)
    if spec.flip:
        image = image.flipver()
    if spec.mirror:
        image = image.fliphor()
    image = apply_filters(image, spec)
    if (image.width, image.height) != (target.width, target.height):
        # libvips rounds an arbitrary rotation's canvas its own way: settle on the plan.
        image = image.gravity("centre", target.width, target.height, extend="background")
    if spec.watermark is not None:
        if spec.watermark.text is not None:
            mark = text_mark(spec.watermark.text, image.width, image.height,
                             font=font, font_file=font_file)  # fmt: skip
        elif watermark is None:
            raise Unprocessable("The watermark image is missing.", code="watermark_missing")
        else:
            mark = _image_mark(watermark, image.width, image.height, limits)
        image = composite(image, mark, spec.watermark.position, spec.watermark.opacity)
    check_output(image.width, image.height, "transformations", limits)
    data = encode(image, target.format, spec.quality_for(target.format), lean=master)
    return Rendered(data, target.format, image.width, image.height, flattened=frames > 1)


def _thumbnail(source: Path | bytes, width: int, **options: Any) -> Any:
    """Shrink-on-load from a file (read as libvips needs it) or from bytes already in memory."""
    if isinstance(source, Path):
        return pyvips.Image.thumbnail(str(source), width, **options)
    return pyvips.Image.thumbnail_buffer(source, width, **options)


def _load_sized(
    source: bytes | Path,
    fmt: ImageFormat,
    spec: TransformSpec,
    width: int,
    height: int,
    focus: Focus | None = None,
) -> Any:
    """Upright, cropped and resized: the steps that decide which pixels get decoded."""
    resize = spec.resize
    if resize is not None and spec.crop is None:
        # Shrink on load: a JPEG or WebP decodes straight at a fraction of its size.
        g = resize_geometry(resize, width, height)
        shrink = _large_jpeg_shrink(source, fmt, width, height, g)
        if shrink > 1:
            image = open_as(source, fmt, shrink=shrink, access="sequential", fail_on="truncated")
            image = image.thumbnail_image(g.scaled_width, height=g.scaled_height, size="force")
        else:
            image = _thumbnail(
                source, g.scaled_width, height=g.scaled_height, size="force", fail_on="truncated"
            )
        if spec.rotate or spec.flip:
            # thumbnail streams its source, and turning or flipping reads out of order: hold
            # the scaled image (it is within the output limits) in memory instead.
            image = image.copy_memory()
    else:
        image = open_as(source, fmt, fail_on="truncated").autorot()
        if spec.crop is not None:
            c = spec.crop
            image = image.crop(c.x, c.y, c.width, c.height)
        if resize is None:
            return image
        g = resize_geometry(resize, image.width, image.height)
        image = image.thumbnail_image(g.scaled_width, height=g.scaled_height, size="force")
    if resize.fit is Fit.COVER and (g.scaled_width, g.scaled_height) != (g.width, g.height):
        # The faces, in the cropped picture (None when the crop cut them all away).
        focus = focus and focus.within(spec.crop, width, height)
        if focus is not None and resize.gravity in FACE_GRAVITIES:
            left, top = cover_offsets(focus, g.scaled_width, g.scaled_height, g.width, g.height)
            image = image.crop(left, top, g.width, g.height)
        elif resize.gravity in (Gravity.AUTO, *FACE_GRAVITIES):  # no face found: as auto
            # smartcrop reads the picture twice (to choose, then to cut): from memory.
            image = image.copy_memory().smartcrop(g.width, g.height, interesting="attention")
        else:
            left, top = _offsets(
                resize.gravity, g.scaled_width - g.width, g.scaled_height - g.height
            )
            image = image.crop(left, top, g.width, g.height)
    elif resize.fit is Fit.CONTAIN:
        image = pad(srgb(image), g.width, g.height)
    return image


def _large_jpeg_shrink(
    source: bytes | Path, fmt: ImageFormat, width: int, height: int, g: ResizeGeometry
) -> int:
    """How much to shrink a large upright JPEG while decoding it, leaving the resize at least
    `LARGE_RESIDUAL` to do; 1 for anything else (`thumbnail` chooses, leaving at least 2).
    A 7000 px photo made 2048 px wide is decoded at 3500 px rather than in full: half the
    memory and a quarter less CPU, for an SSIM of 0.99 against the full decode."""
    if fmt is not ImageFormat.JPEG or width * height <= LARGE_PIXELS:
        return 1
    if orientation(open_as(source, fmt)) != 1:
        return 1  # turning reads out of order: thumbnail knows how
    factor = min(width / g.scaled_width, height / g.scaled_height)
    return next((s for s in (8, 4, 2) if factor / s >= LARGE_RESIDUAL), 1)


def _image_mark(data: bytes, width: int, height: int, limits: ImageLimits) -> Any:
    fmt = sniff(data[:512])
    if fmt is None:
        raise InvalidInput("The watermark is not an accepted image.", code="invalid_image")
    check_header(open_as(data, fmt), fmt, limits)
    return image_mark(data, width, height)


def _offsets(gravity: Gravity, spare_x: int, spare_y: int) -> tuple[int, int]:
    """Where a cover crop starts, given how much the scaled image has to spare."""
    name = str(gravity)
    left = 0 if "left" in name else spare_x if "right" in name else spare_x // 2
    top = 0 if "top" in name else spare_y if "bottom" in name else spare_y // 2
    return left, top


def _single_frame(image: Any) -> Any:
    """Without the animation fields of the source's first frame: the output is one image."""
    present = [field for field in FRAME_FIELDS if image.get_typeof(field)]
    if not present:
        return image
    image = image.copy()
    for field in present:
        image.remove(field)
    return image
