"""The query parameters of the owner's render (GET /images/{id}/render) in the OpenAPI schema,
typed and described from the spec grammar's own bounds and words."""

from __future__ import annotations

from typing import Any

from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec.types import (
    FORMAT_ALIASES,
    GRAVITY_ALIASES,
    MAX_BLUR,
    MAX_REF,
    MAX_TEXT,
    MIN_BLUR,
    Fit,
    Gravity,
    OutputFormat,
    Position,
)
from pixelpress.domain.spec.values import FALSE_WORDS, TRUE_WORDS


def _words(*groups: frozenset[str]) -> dict[str, Any]:
    return {"type": "string", "enum": sorted(set().union(*groups))}


def render_parameters(limits: ImageLimits) -> list[dict[str, Any]]:
    """The flat query parameters of GET /images/{id}/render (domain.spec.query.QUERY_KEYS)."""
    edge = {"type": "integer", "minimum": 1, "maximum": limits.max_edge}
    boolean = _words(TRUE_WORDS, FALSE_WORDS)
    gravity = sorted({str(g) for g in Gravity} | set(GRAVITY_ALIASES))
    gravity += sorted({g.replace("-", "_") for g in gravity if "-" in g})
    rows: list[tuple[str, dict[str, Any], str]] = [
        ("width", edge, "Output width in pixels; alone, the height keeps the aspect."),
        ("height", edge, "Output height in pixels; alone, the width keeps the aspect."),
        ("fit", {"type": "string", "enum": [str(f) for f in Fit]},
         "With both edges: cover (default), contain, fill, inside or outside."),
        ("gravity", {"type": "string", "enum": gravity},
         "What a cover crop keeps (center by default; auto: the most interesting part)."),
        ("crop", {"type": "string", "pattern": r"^\d+[:,]\d+[:,]\d+[:,]\d+$"},
         "X:Y:WIDTH:HEIGHT of the upright source, before resizing."),
        ("rotate", {"type": "number", "minimum": -1e6, "maximum": 1e6},
         "Degrees clockwise, any angle."),
        ("flip", boolean, "Upside down."),
        ("mirror", boolean, "Left to right."),
        ("format", {"type": "string", "enum": [*map(str, OutputFormat), *FORMAT_ALIASES]},
         "Output format; without it the source's is kept (TIFF becomes JPEG)."),
        ("quality", {"type": "integer", "minimum": 1, "maximum": 100}, "Encoder quality."),
        ("compress", {"anyOf": [boolean, {"type": "integer", "minimum": 1, "maximum": 100}]},
         "true lowers the default quality; a number is the quality."),
        ("grayscale", boolean, "Shades of grey."),
        ("sepia", boolean, "A sepia tone."),
        ("blur", {"anyOf": [boolean, {"type": "number", "minimum": MIN_BLUR,
                                       "maximum": MAX_BLUR}]},
         "Gaussian blur: true for sigma 2, or the sigma."),
        ("sharpen", boolean, "Sharpen."),
        ("watermarkText", {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
         "A text drawn over the image (white, with a shadow)."),
        ("watermarkImage", {"type": "string", "minLength": 1, "maxLength": MAX_REF},
         "One of your images, by id or filename, drawn over this one (not with a text)."),
        ("watermarkPosition", {"type": "string", "enum": [str(p) for p in Position]},
         "Where the watermark goes (bottom-right by default)."),
        ("watermarkOpacity", {"type": "number", "minimum": 0, "maximum": 1},
         "The watermark's opacity (0.5 by default)."),
        ("dpr", {"type": "number", "minimum": 1, "maximum": 4},
         "Device pixel ratio: multiplies width and height (lowered to stay within the edge "
         "limit)."),
    ]  # fmt: skip
    return [
        {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
        for name, schema, text in rows
    ]
