"""The transformation spec: every accepted form, one canonical form and its hash, and `plan`, which
sizes the output of the whole chain without touching a pixel.

Operations apply in this order (the processor follows it, and `plan` computes sizes the same way):

1. orient     the source is turned upright from its EXIF orientation; sizes are as displayed
2. crop       x, y, width, height in pixels of the upright source; must lie inside it
3. resize     one edge: the other keeps the aspect ratio; both edges: `fit` (default cover), as
              in sharp. cover: scale to cover both edges, crop to exactly WxH the part its
              `gravity` names (default center; top, bottom, left, right, the four corners,
              or auto: the most interesting part, by libvips' attention measure).
              contain: scale to fit inside, letterbox to exactly WxH. fill: stretch to WxH.
              inside: fit inside WxH keeping the aspect (one edge may be shorter). outside:
              cover WxH keeping the aspect (one edge may be longer). Enlarging is allowed.
4. rotate     degrees clockwise, any angle, normalised to [0, 360); multiples of 90 are exact,
              other angles grow the canvas to the rotated image's bounding box
5. flip       upside down (vertical); then mirror: left-right (horizontal)
6. filters    grayscale, then sepia, then blur (gaussian, sigma 0.1..100), then sharpen
7. watermark  a text (1..200 characters, white with a dark shadow) or one of the user's images
              (scaled to a quarter of the output width), at one of nine positions (default
              bottom-right) with a margin, opacity 0..1 (default 0.5)
8. encode     upright, sRGB, no metadata. format jpeg|png|webp|avif|gif; without one the source's
              format is kept when it is one of these, else (TIFF) JPEG. Quality 1..100; without
              one: jpeg 82, webp 80, avif 60, png lossless. `compress: true` lowers these to
              jpeg 60, webp 60, avif 45, png a 60-quality palette; `compress: N` is quality N.
              GIF is always a palette and ignores quality. Areas with no image (contain's
              letterbox, a rotation's corners) are transparent, or black in JPEG.

Limits: every edge and offset is at most `max_edge` when parsed; `plan` refuses (422) a crop
outside the image, a resize whose scaled image passes `max_edge`, and a final output past
`max_edge` on an edge or `max_pixels` in all, naming the operation that made it so.

JSON grammar: `{"transformations": {...}}`, or the inner object alone; full and short forms mix.

    resize     {"width": int, "height": int, "fit": cover|contain|fill|inside|outside,
                "gravity": GRAVITY}  | "WxH" | "Wx" | "xH"      (one edge may be left out)
               GRAVITY: center|top|bottom|left|right|top-left|top-right|bottom-left|
               bottom-right|auto, or compass names (north, south-east, ...); cover only
    crop       {"x": int, "y": int, "width": int, "height": int}
    rotate     number | numeric string
    flip       true | false                            mirror: the same
    filters    {"grayscale": bool, "sepia": bool, "blur": number | bool, "sharpen": bool}
    filter     NAME | [NAME, ...]   NAME: grayscale | sepia | sharpen | blur (sigma 2) | blur:SIGMA
    watermark  {"text": str, "position": POSITION, "opacity": number}
               | {"image": REF, "position": ..., "opacity": ...} | REF  (an image id or filename)
               POSITION: top-left|top|top-right|left|center|right|bottom-left|bottom|bottom-right
    format     jpeg | jpg | png | webp | avif | gif
    quality    1..100 (or a numeric string)
    compress   true | false | 1..100

Query parameters (GET renders): crop (X:Y:WIDTH:HEIGHT, or with commas), width, height, fit,
gravity, rotate, flip, mirror, format, quality, compress, grayscale, sepia, blur, sharpen,
watermarkText or watermarkImage (an image id or filename), watermarkPosition, watermarkOpacity.
Booleans there are true|false|1|0|yes|no|on|off (or empty, for true), so compress=1 means true;
blur takes a sigma or true/false. In JSON booleans are JSON true/false only, integers never accept
a boolean, and `null` means "not given". Unknown operations, fields and parameters are refused.

Errors: malformed input (unknown name, wrong type) is InvalidInput (400); values that parse but
make no sense (out of bounds, nothing to do, crop outside, output too large) are Unprocessable
(422). Both have code `invalid_spec` (an output past the edge or pixel limits has its own:
`edge_too_long` or `too_many_pixels`, with the limit) and name the field:
`transformations.resize.width` for the wrapped form, `resize.width` for the bare one, `width`
for query parameters, the operation (`crop`, `resize`, `rotate`) for `plan`.

Canonical form: only the operations that do something, in the order above; an operation present
lists all its parameters with defaults filled in (a resize with both edges always has its fit;
its gravity only when not center, and only for cover: elsewhere it is moot and dropped);
rotation in [0, 360); numbers rounded to 3 decimals, integral ones as integers; `jpg` is `jpeg`;
quality and compress only where they change the output; a resolved image watermark holds the image
id. The hash is the first 32 hex digits of the SHA-256 of that form as compact, key-sorted JSON,
so equivalent specs in any form share one hash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pixelpress.domain.errors import Unprocessable
from pixelpress.domain.limits import Limit
from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec_parse import parse_query, parse_spec
from pixelpress.domain.spec_types import (
    COMPRESSED_QUALITY,
    DEFAULT_QUALITY,
    Crop,
    Fit,
    Gravity,
    OutputFormat,
    Position,
    Resize,
    TransformSpec,
    Watermark,
)

__all__ = [
    "COMPRESSED_QUALITY",
    "DEFAULT_QUALITY",
    "Crop",
    "Fit",
    "Gravity",
    "OutputFormat",
    "OutputPlan",
    "Position",
    "Resize",
    "ResizeGeometry",
    "TransformSpec",
    "Watermark",
    "parse_query",
    "parse_spec",
    "plan",
    "resize_geometry",
    "rotated_size",
]


@dataclass(frozen=True)
class OutputPlan:
    width: int
    height: int
    format: OutputFormat


@dataclass(frozen=True)
class ResizeGeometry:
    """The resize step of an image: it is scaled to `scaled_*` (keeping its aspect, except with
    fill), then cover crops the centre and contain letterboxes it to `width` x `height`."""

    scaled_width: int
    scaled_height: int
    width: int
    height: int


def _round(value: float) -> int:
    # Half up, never 0: Python's round() goes to even, which libvips does not.
    return max(1, math.floor(value + 0.5))


def resize_geometry(resize: Resize, width: int, height: int) -> ResizeGeometry:
    """The resize step applied to a `width` x `height` image."""
    w, h = resize.width, resize.height
    if w is None or h is None:
        if w is not None:
            size = (w, _round(height * w / width))
        elif h is not None:
            size = (_round(width * h / height), h)
        else:
            raise ValueError("A resize needs a width or a height.")
        return ResizeGeometry(*size, *size)
    if resize.fit is Fit.FILL:
        return ResizeGeometry(w, h, w, h)
    if resize.fit in (Fit.COVER, Fit.OUTSIDE):
        scale = max(w / width, h / height)
        scaled = (max(w, _round(width * scale)), max(h, _round(height * scale)))
    else:
        scale = min(w / width, h / height)
        scaled = (min(w, _round(width * scale)), min(h, _round(height * scale)))
    if resize.fit in (Fit.COVER, Fit.CONTAIN):
        return ResizeGeometry(*scaled, w, h)
    return ResizeGeometry(*scaled, *scaled)


def rotated_size(width: int, height: int, degrees: float) -> tuple[int, int]:
    """The canvas holding a `width` x `height` image turned by `degrees`: for angles other than
    multiples of 90, the bounding box of the turned rectangle."""
    if degrees % 180 == 0:
        return width, height
    if degrees % 90 == 0:
        return height, width
    angle = math.radians(degrees)
    cos, sin = abs(math.cos(angle)), abs(math.sin(angle))
    return _round(width * cos + height * sin), _round(width * sin + height * cos)


def plan(
    spec: TransformSpec, *, width: int, height: int, source_format: str, limits: ImageLimits
) -> OutputPlan:
    """The output's size and format for an upright `width` x `height` source, in the order the
    processor applies. Raises Unprocessable for a crop outside the image and for an output (or a
    scaled intermediate) over the limits."""
    step = "transformations"
    if spec.crop:
        c = spec.crop
        if c.x + c.width > width or c.y + c.height > height:
            raise _refuse(
                "crop",
                f"The crop falls outside the {width}x{height} image.",
                image={"width": width, "height": height},
            )
        width, height, step = c.width, c.height, "crop"
    if spec.resize:
        geometry = resize_geometry(spec.resize, width, height)
        check_output(geometry.scaled_width, geometry.scaled_height, "resize", limits, pixels=False)
        width, height, step = geometry.width, geometry.height, "resize"
    if spec.rotate:
        width, height = rotated_size(width, height, spec.rotate)
        step = "rotate"
    check_output(width, height, step, limits)
    return OutputPlan(width, height, spec.output_format(source_format))


def check_output(
    width: int, height: int, step: str, limits: ImageLimits, *, pixels: bool = True
) -> None:
    """Unprocessable (code `edge_too_long` or `too_many_pixels`, the limit in its details) when
    the `step` that made a `width` x `height` image passed the limits."""
    if max(width, height) > limits.max_edge:
        raise _refuse(
            step,
            f"The {step} step makes the image {width}x{height}; "
            f"edges are limited to {limits.max_edge} pixels.",
            code=Limit.EDGE,
            limit=limits.max_edge,
            actual=max(width, height),
        )
    if pixels and width * height > limits.max_pixels:
        raise _refuse(
            step,
            f"The output would have {width * height} pixels; the limit is {limits.max_pixels}.",
            code=Limit.PIXELS,
            limit=limits.max_pixels,
            actual=width * height,
        )


def _refuse(
    field: str, message: str, *, code: str = "invalid_spec", **details: object
) -> Unprocessable:
    return Unprocessable(
        message,
        code=code,
        details=[{"field": field, "message": message, **details}],
    )
