"""Responsive images: the device pixel ratio (`dpr`) and the client hints a signed URL may read
(`dpr_auto`, `w_auto`).

`dpr` multiplies the resize's width and height (CSS pixels) by 1..4 (decimals allowed). It is
resolved when the spec is parsed, so `w_400,dpr_2` is `w_800`: one canonical spec, one variant.
The factor is lowered as needed so that no edge passes the edge limit; the output is then
planned and limited as any other (so a URL whose output passes the pixel limit only at the
hinted size is refused, 422, for that client).

Hints, as browsers send them (`Sec-CH-DPR`/`DPR`, `Sec-CH-Width`/`Width`) are quantised so that
the variant cache stays small: a DPR is clamped to 1..4 and rounded up to a multiple of 0.5; a
width (already in physical pixels) is rounded up to one of `WIDTH_STEPS`, at most the last one.
A header that is not a positive number counts as no hint.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import replace
from enum import StrEnum

from pixelpress.domain.spec.types import TransformSpec
from pixelpress.domain.spec.values import DECIMAL, INTEGER, nonsense, read_float

MIN_DPR = 1.0
MAX_DPR = 4.0
DPR_STEP = 0.5
WIDTH_STEPS = (100, 200, 320, 480, 640, 800, 1024, 1280, 1600, 1920, 2560)
DEFAULT_AUTO_WIDTH = 1024
"""`w_auto` without a hint and without a fallback (`w_auto:800`)."""


class Hint(StrEnum):
    """A client hint a signed URL reads, and the request headers that carry it (best first)."""

    DPR = "dpr"
    WIDTH = "width"

    @property
    def headers(self) -> tuple[str, str]:
        return ("Sec-CH-DPR", "DPR") if self is Hint.DPR else ("Sec-CH-Width", "Width")


ACCEPT_CH = "Sec-CH-DPR, Sec-CH-Width, Width, DPR"
"""What an answer that read a hint asks the browser to send from now on."""


def dpr_factor(text: str) -> float:
    """A `dpr_` option's number; InvalidInput or Unprocessable for anything else."""
    return read_float(text, "dpr", lo=MIN_DPR, hi=MAX_DPR, text_ok=True)


def hinted_dpr(text: str) -> float | None:
    """A DPR hint's header value, quantised; None when it is not a positive number."""
    if not DECIMAL.fullmatch(text.strip()):
        return None
    value = float(text)
    if not value > 0:
        return None
    clamped = min(MAX_DPR, max(MIN_DPR, round(value, 2)))
    return math.ceil(clamped / DPR_STEP) * DPR_STEP


def hinted_width(text: str) -> int | None:
    """A width hint's header value (physical pixels) rounded up to a step; None when it is not
    a positive whole number."""
    text = text.strip()
    if not INTEGER.fullmatch(text) or text.startswith("-"):
        return None
    digits = text.lstrip("0")
    if len(digits) > len(str(WIDTH_STEPS[-1])):  # past every step (and past int()'s limit)
        return WIDTH_STEPS[-1]
    if not digits:
        return None
    index = bisect.bisect_left(WIDTH_STEPS, int(digits))
    return WIDTH_STEPS[min(index, len(WIDTH_STEPS) - 1)]


def vary_headers(hints: tuple[Hint, ...]) -> tuple[str, ...]:
    return tuple(header for hint in hints for header in hint.headers)


def apply_dpr(
    spec: TransformSpec, dpr: float, *, max_edge: int, field: str, width: bool = True
) -> TransformSpec:
    """`spec` with its resize's edges multiplied by `dpr` (the width left alone when `width` is
    False: a width from a hint is in physical pixels already), the factor lowered so that no
    edge passes `max_edge`. Unprocessable without a resize."""
    resize = spec.resize
    if resize is None:
        raise nonsense(field, f"'{field}' needs a width or a height.")
    edges = [e for e in (resize.width if width else None, resize.height) if e is not None]
    if not edges or dpr == 1:
        return spec
    factor = min(dpr, max_edge / max(edges))

    def scaled(edge: int | None, applies: bool) -> int | None:
        if edge is None or not applies:
            return edge
        return min(max_edge, max(1, math.floor(edge * factor + 0.5)))

    return replace(
        spec,
        resize=replace(
            resize, width=scaled(resize.width, width), height=scaled(resize.height, True)
        ),
    )
