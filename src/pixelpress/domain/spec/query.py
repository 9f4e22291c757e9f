"""The query grammar of a spec: the flat parameters of a GET render (see `domain.spec`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pixelpress.domain.limits import ImageLimits
from pixelpress.domain.spec.json import DEFAULT_LIMITS
from pixelpress.domain.spec.responsive import MAX_DPR, MIN_DPR, apply_dpr
from pixelpress.domain.spec.types import (
    DEFAULT_OPACITY,
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
    nonsense,
    read_blur,
    read_bool,
    read_choice,
    read_compress,
    read_crop_text,
    read_float,
    read_gravity,
    read_int,
    read_opacity,
    read_ref,
    read_rotation,
    read_text,
)

QUERY_KEYS = frozenset(
    {"crop", "width", "height", "fit", "gravity", "rotate", "flip", "mirror", "format",
     "quality", "compress", "grayscale", "sepia", "blur", "sharpen", "watermarkText",
     "watermarkImage", "watermarkPosition", "watermarkOpacity", "dpr"}
)  # fmt: skip


def parse_query(
    params: Mapping[str, str],
    *,
    ignore: Collection[str] = (),
    limits: ImageLimits = DEFAULT_LIMITS,
) -> TransformSpec:
    """Flat query parameters of a GET render. `ignore` names the caller's own parameters
    (a signature, an expiry); any other unknown parameter is refused."""
    for key in params:
        if key not in QUERY_KEYS and key not in ignore:
            raise bad(key, f"Unknown parameter '{key}'.")
    p = {k: v for k, v in params.items() if k in QUERY_KEYS}
    values: dict[str, Any] = {}
    edge = limits.max_edge
    if "crop" in p:
        values["crop"] = read_crop_text(p["crop"], "crop", edge)
    width = read_int(p["width"], "width", lo=1, hi=edge, text_ok=True) if "width" in p else None
    height = read_int(p["height"], "height", lo=1, hi=edge, text_ok=True) if "height" in p else None
    fit = read_choice(p["fit"], "fit", Fit) if "fit" in p else Fit.COVER
    gravity = read_gravity(p["gravity"], "gravity") if "gravity" in p else Gravity.CENTER
    if width is not None or height is not None:
        values["resize"] = Resize(width, height, fit, gravity)
    else:
        if "fit" in p:
            raise nonsense("fit", "'fit' needs a width and a height.")
        if gravity is not Gravity.CENTER:  # (the default alone changes nothing)
            raise nonsense("gravity", "'gravity' needs a width and a height.")
    if "rotate" in p:
        values["rotate"] = read_rotation(p["rotate"], "rotate", text_ok=True)
    for key in ("flip", "mirror", "grayscale", "sepia", "sharpen"):
        if key in p:
            values[key] = read_bool(p[key], key, text_ok=True)
    if "blur" in p:
        values["blur"] = read_blur(p["blur"], "blur", text_ok=True)
    if "format" in p:
        values["format"] = read_choice(p["format"], "format", OutputFormat, FORMAT_ALIASES)
    if "quality" in p:
        values["quality"] = read_int(p["quality"], "quality", lo=1, hi=100, text_ok=True)
    if "compress" in p:
        read_compress(p["compress"], "compress", values, text_ok=True)
    if "watermarkText" in p and "watermarkImage" in p:
        raise nonsense("watermarkImage", "Give a watermarkText or a watermarkImage, not both.")
    if "watermarkText" in p or "watermarkImage" in p:
        text, image = p.get("watermarkText"), p.get("watermarkImage")
        values["watermark"] = Watermark(
            text=read_text(text, "watermarkText") if text is not None else None,
            image=read_ref(image, "watermarkImage") if image is not None else None,
            position=read_choice(
                p.get("watermarkPosition", "bottom-right"), "watermarkPosition", Position
            ),
            opacity=read_opacity(
                p.get("watermarkOpacity", DEFAULT_OPACITY), "watermarkOpacity", text_ok=True
            ),
        )
    else:
        for key in ("watermarkPosition", "watermarkOpacity"):
            if key in p:
                raise nonsense(key, f"'{key}' needs a watermarkText or a watermarkImage.")
    spec = finish(values, "transformations")
    if "dpr" not in p:
        return spec
    dpr = read_float(p["dpr"], "dpr", lo=MIN_DPR, hi=MAX_DPR, text_ok=True)
    return apply_dpr(spec, dpr, max_edge=edge, field="dpr")
