"""The transformation spec: every accepted form, one canonical form and its hash, and `plan`, which
sizes the output of the whole chain without touching a pixel.

Operations apply in this order (the processor follows it, and `plan` computes sizes the same way):

1. orient     the source is turned upright from its EXIF orientation; sizes are as displayed
2. crop       x, y, width, height in pixels of the upright source; must lie inside it
3. resize     one edge: the other keeps the aspect ratio; both edges: `fit` (default cover), as
              in sharp. cover: scale to cover both edges, crop to exactly WxH the part its
              `gravity` names (default center; top, bottom, left, right, the four corners,
              or auto: the most interesting part, by libvips' attention measure; face:
              centred on the largest face, faces: on all faces, as auto when none is found).
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

The package: `types` (the spec and its values), `values` (reading them), the grammars `json`,
`query` and `url` (signed URLs' options), `responsive` (dpr and client hints), and `plan`.

JSON grammar: `{"transformations": {...}}`, or the inner object alone; full and short forms mix.

    resize     {"width": int, "height": int, "fit": cover|contain|fill|inside|outside,
                "gravity": GRAVITY}  | "WxH" | "Wx" | "xH"      (one edge may be left out)
               GRAVITY: center|top|bottom|left|right|top-left|top-right|bottom-left|
               bottom-right|auto|face|faces, or compass names (north, ...); cover only
    crop       {"x": int, "y": int, "width": int, "height": int}
    rotate     number
    flip       true | false                            mirror: the same
    filters    {"grayscale": bool, "sepia": bool, "blur": number | bool, "sharpen": bool}
    filter     NAME | [NAME, ...]   NAME: grayscale | sepia | sharpen | blur (sigma 2) | blur:SIGMA
    watermark  {"text": str, "position": POSITION, "opacity": number}
               | {"image": REF, "position": ..., "opacity": ...} | REF  (an image id or filename)
               POSITION: top-left|top|top-right|left|center|right|bottom-left|bottom|bottom-right
    format     jpeg | jpg | png | webp | avif | gif
    quality    1..100
    compress   true | false | 1..100
    dpr        1..4: the device pixel ratio; multiplies the resize's edges when parsed, so
               it leaves no trace in the canonical form (see `responsive`)

Query parameters (GET renders): crop (X:Y:WIDTH:HEIGHT, or with commas), width, height, fit,
gravity, rotate, flip, mirror, format, quality, compress, grayscale, sepia, blur, sharpen,
watermarkText or watermarkImage (an image id or filename), watermarkPosition, watermarkOpacity,
dpr.
Booleans there are true|false|1|0|yes|no|on|off (or empty, for true), so compress=1 means true;
blur takes a sigma or true/false; numbers are ASCII digits. In JSON booleans are JSON true/false
only, numbers JSON numbers, integers never accept a boolean, and `null` means "not given". Every
value is taken exactly as written: nothing is trimmed or case-folded (`"JPEG "` is no format).
Unknown operations, fields and parameters are refused.

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

from pixelpress.domain.spec.json import parse_canonical, parse_spec
from pixelpress.domain.spec.plan import (
    OutputPlan,
    ResizeGeometry,
    check_output,
    plan,
    resize_geometry,
    rotated_size,
)
from pixelpress.domain.spec.query import parse_query
from pixelpress.domain.spec.responsive import (
    ACCEPT_CH,
    WIDTH_STEPS,
    Hint,
    hinted_dpr,
    hinted_width,
    vary_headers,
)
from pixelpress.domain.spec.types import (
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
from pixelpress.domain.spec.url import UrlOptions, negotiate, parse_options, to_options

__all__ = [
    "ACCEPT_CH",
    "COMPRESSED_QUALITY",
    "DEFAULT_QUALITY",
    "WIDTH_STEPS",
    "Crop",
    "Fit",
    "Gravity",
    "Hint",
    "OutputFormat",
    "OutputPlan",
    "Position",
    "Resize",
    "ResizeGeometry",
    "TransformSpec",
    "UrlOptions",
    "Watermark",
    "check_output",
    "hinted_dpr",
    "hinted_width",
    "negotiate",
    "parse_canonical",
    "parse_options",
    "parse_query",
    "parse_spec",
    "plan",
    "resize_geometry",
    "rotated_size",
    "to_options",
    "vary_headers",
]
