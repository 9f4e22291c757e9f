"""The JSON grammar of a spec: `{"transformations": {...}}` or the inner object, full and short
forms mixed (see `domain.spec`); and the canonical form stored with a variant."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pixelpress.domain.limits import ImageLimits
from pixelpress.domain.spec.responsive import MAX_DPR, MIN_DPR, apply_dpr
from pixelpress.domain.spec.types import (
    FORMAT_ALIASES,
    Fit,
    Gravity,
    OutputFormat,
    Position,
    Resize,
    TransformSpec,
    Watermark,
)
from pixelpress.domain.spec.values import (
    bad,
    finish,
    join,
    nonsense,
    read_blur,
    read_bool,
    read_choice,
    read_compress,
    read_crop,
    read_float,
    read_gravity,
    read_int,
    read_object,
    read_opacity,
    read_ref,
    read_rotation,
    read_text,
)

DEFAULT_LIMITS = ImageLimits()
# A stored spec was checked when it was requested; plan() applies today's limits when it runs.
UNBOUNDED = ImageLimits(max_edge=2**31 - 1)
OPERATIONS = frozenset(
    {"resize", "crop", "rotate", "flip", "mirror", "filters", "filter", "watermark", "format",
     "quality", "compress", "dpr"}
)  # fmt: skip
FILTER_NAMES = {"grayscale": "grayscale", "greyscale": "grayscale", "sepia": "sepia",
                "sharpen": "sharpen", "blur": "blur"}  # fmt: skip
SIZE = re.compile(r"([0-9]*)x([0-9]*)|([0-9]+)")


def parse_spec(payload: object, *, limits: ImageLimits = DEFAULT_LIMITS) -> TransformSpec:
    """`{"transformations": {...}}` or the inner object; full and short forms mix freely.
    `limits.max_edge` bounds every edge and offset."""
    prefix = ""
    if isinstance(payload, Mapping) and set(payload) == {"transformations"}:
        payload, prefix = payload["transformations"], "transformations"
    return _parse_object(payload, prefix, limits.max_edge, trusted=False)


def parse_canonical(data: object) -> TransformSpec:
    return _parse_object(data, "spec", UNBOUNDED.max_edge, trusted=True)


def _resize(value: Any, field: str, edge: int) -> Resize:
    if isinstance(value, str):  # "800x600", "800x", "x600" (or just "800")
        match = SIZE.fullmatch(value)
        if match is None or not any(match.groups()):
            raise bad(join(field, "width"), f"'{field}' must look like 800x600, 800x or x600.")
        width_text = match.group(1) or match.group(3)
        height_text = match.group(2)
        return Resize(
            read_int(width_text, join(field, "width"), lo=1, hi=edge, text_ok=True)
            if width_text
            else None,
            read_int(height_text, join(field, "height"), lo=1, hi=edge, text_ok=True)
            if height_text
            else None,
        )
    obj = read_object(value, field, ("width", "height", "fit", "gravity"))
    width = read_int(obj["width"], join(field, "width"), lo=1, hi=edge) if "width" in obj else None
    height = (
        read_int(obj["height"], join(field, "height"), lo=1, hi=edge) if "height" in obj else None
    )
    if width is None and height is None:
        raise nonsense(field, f"'{field}' needs a width, a height or both.")
    fit = read_choice(obj["fit"], join(field, "fit"), Fit) if "fit" in obj else Fit.COVER
    gravity = Gravity.CENTER
    if "gravity" in obj:
        gravity = read_gravity(obj["gravity"], join(field, "gravity"))
    return Resize(width, height, fit, gravity)


def _watermark(value: Any, field: str, trusted: bool) -> Watermark:
    if isinstance(value, str):
        return Watermark(image=read_ref(value, field), resolved=trusted)
    obj = read_object(value, field, ("text", "image", "position", "opacity"))
    if ("text" in obj) == ("image" in obj):
        raise bad(field, f"'{field}' needs either a text or an image.")
    position = Position.BOTTOM_RIGHT
    if "position" in obj:
        position = read_choice(obj["position"], join(field, "position"), Position)
    opacity = read_opacity(obj["opacity"], join(field, "opacity")) if "opacity" in obj else 0.5
    if "text" in obj:
        text = read_text(obj["text"], join(field, "text"))
        return Watermark(text=text, position=position, opacity=opacity)
    image = read_ref(obj["image"], join(field, "image"))
    return Watermark(image=image, resolved=trusted, position=position, opacity=opacity)


def _filters(value: Any, field: str, into: dict[str, Any]) -> None:
    obj = read_object(value, field, ("grayscale", "sepia", "blur", "sharpen"))
    for key in ("grayscale", "sepia", "sharpen"):
        if key in obj:
            into[key] = read_bool(obj[key], join(field, key))
    if "blur" in obj:
        into["blur"] = read_blur(obj["blur"], join(field, "blur"), text_ok=False)


def _short_filters(value: Any, field: str, into: dict[str, Any]) -> None:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise bad(field, f"'{field}' must be a filter name or a list of them.")
    for name in names:
        word, _, argument = name.partition(":")
        key = FILTER_NAMES.get(word)
        if key is None:
            allowed = "grayscale, sepia, blur, blur:SIGMA, sharpen"
            raise bad(field, f"Unknown filter '{name}' in '{field}'; use: {allowed}.")
        if key == "blur":
            into["blur"] = read_blur(argument or True, field, text_ok=True)
        else:
            into[key] = True


def _parse_object(payload: object, prefix: str, edge: int, *, trusted: bool) -> TransformSpec:
    obj = read_object(payload, prefix, OPERATIONS)
    values: dict[str, Any] = {}
    dpr: float | None = None
    # quality first, so that a `compress: N` can be compared with it
    for key in sorted(obj, key=lambda k: k != "quality"):
        value, field = obj[key], join(prefix, key)
        if key == "resize":
            values["resize"] = _resize(value, field, edge)
        elif key == "crop":
            values["crop"] = read_crop(value, field, edge)
        elif key == "rotate":
            values["rotate"] = read_rotation(value, field, text_ok=False)
        elif key in ("flip", "mirror"):
            values[key] = read_bool(value, field)
        elif key == "filters":
            _filters(value, field, values)
        elif key == "filter":
            _short_filters(value, field, values)
        elif key == "watermark":
            values["watermark"] = _watermark(value, field, trusted)
        elif key == "format":
            values["format"] = read_choice(value, field, OutputFormat, FORMAT_ALIASES)
        elif key == "quality":
            values["quality"] = read_int(value, field, lo=1, hi=100)
        elif key == "compress":
            read_compress(value, field, values, text_ok=False)
        elif key == "dpr":
            dpr = read_float(value, field, lo=MIN_DPR, hi=MAX_DPR)
    spec = finish(values, prefix or "transformations")
    if dpr is None:
        return spec
    return apply_dpr(spec, dpr, max_edge=edge, field=join(prefix, "dpr"))
