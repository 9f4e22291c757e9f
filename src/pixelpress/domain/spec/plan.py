"""Planning an output: its size and format after the whole chain, for an upright source, without
touching a pixel (see `domain.spec`). The processor applies the same steps in the same order."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pixelpress.domain.errors import Unprocessable
from pixelpress.domain.limits import ImageLimits, Limit
from pixelpress.domain.spec.types import Fit, OutputFormat, Resize, TransformSpec


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
