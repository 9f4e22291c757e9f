"""The options segment of signed transformation URLs: `/i/{signature}/{options}/{imageId}[.ext]`.

Options are comma-separated `key_value` pairs, in any order:

    cr_10:20:400:300      crop x:y:width:height (pixels of the upright source), before resizing
    w_400  h_300          width, height (pixels)
    c_cover               fit when both edges are given: cover|contain|fill|inside|outside
    g_north_east          gravity of a cover crop: center, top, bottom, left, right,
                          top-left, top-right, bottom-left, bottom-right, auto (the most
                          interesting part), face (the largest face), faces (all faces;
                          both as auto when none is found), or compass names (north, ...)
    r_90                  rotate clockwise, any angle
    fl_h  fl_v            mirror (left-right), flip (upside down)
    e_grayscale e_sepia e_sharpen e_blur e_blur:3   filters (blur's sigma after the colon)
    wt_wqkgbWU            a text watermark: the text's UTF-8 bytes in unpadded base64url (any
                          character survives a URL that way); wp_top-left its position (the
                          nine of the JSON form), wo_0.3 its opacity 0..1
    wi_<imageId>          an image watermark instead: one of the owner's images, by id (a
                          minted URL names it so; wp_ and wo_ as for a text)
    q_80                  quality 1..100
    f_webp                format jpeg|png|webp|avif|gif, or f_auto: the best the client's
                          Accept header takes (AVIF, then WebP, else JPEG)
    exp_1767225600        the URL stops working at this unix time (covered by the signature)
    _                     no option at all (the original, re-encoded upright and stripped)

They map onto the flat query parameters of `domain.spec`, so a URL and the equivalent JSON
spec share one canonical spec and one hash. A `.ext` on the image id sets the format too.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.limits import ImageLimits
from pixelpress.domain.spec.query import parse_query
from pixelpress.domain.spec.types import OutputFormat, TransformSpec

FLAGS = {"h": "mirror", "v": "flip"}
EFFECTS = ("grayscale", "sepia", "sharpen", "blur")
SIMPLE = {
    "cr": "crop",
    "w": "width",
    "h": "height",
    "c": "fit",
    "g": "gravity",
    "r": "rotate",
    "q": "quality",
    "wi": "watermarkImage",
    "wp": "watermarkPosition",
    "wo": "watermarkOpacity",
}


@dataclass(frozen=True)
class UrlOptions:
    spec: TransformSpec | None
    """None when there is nothing to do but serve the original's upright, stripped rendition."""
    auto_format: bool
    expires: int | None


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_options", field="options")


def parse_options(
    text: str,
    *,
    ext: str | None = None,
    accept: str = "",
    limits: ImageLimits | None = None,
) -> UrlOptions:
    params: dict[str, str] = {}
    auto = False
    expires: int | None = None
    for part in [] if text in ("", "_") else text.split(","):
        key, sep, value = part.partition("_")
        if not sep or not key or not value:
            raise _bad(f"Option '{part}' is not of the form key_value.")
        if key == "g" and value in ("center", "centre"):
            continue  # the default, said aloud: changes nothing (and needs no resize)
        if key in SIMPLE:
            params[SIMPLE[key]] = value
        elif key == "wt":
            params["watermarkText"] = _text_of(value)
        elif key == "fl":
            if value not in FLAGS:
                raise _bad(f"Unknown flag 'fl_{value}'; use fl_h or fl_v.")
            params[FLAGS[value]] = "true"
        elif key == "e":
            name, _, arg = value.partition(":")
            if name not in EFFECTS:
                raise _bad(f"Unknown effect 'e_{name}'; use: {', '.join(EFFECTS)}.")
            params[name] = arg if name == "blur" and arg else "true"
        elif key == "f":
            if value == "auto":
                auto = True
            else:
                params["format"] = value
        elif key == "exp":
            if not (value.isascii() and value.isdigit()):  # "¹" is a digit to isdigit()
                raise _bad("exp_ takes a unix time.")
            expires = int(value)
        else:
            raise _bad(f"Unknown option '{key}_'.")
    if ext:
        params["format"] = ext
        auto = False
    if auto:
        params["format"] = negotiate(accept)
    if not params:
        return UrlOptions(None, auto, expires)
    spec = parse_query(params, limits=limits) if limits else parse_query(params)
    if "watermarkImage" in params:
        # By id, as minting resolved it; the signature vouches for it.
        spec = spec.with_watermark_image(params["watermarkImage"])
    return UrlOptions(spec, auto, expires)


def _text_of(value: str) -> str:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _bad("wt_ takes the text's UTF-8 bytes in base64url.") from None


def negotiate(accept: str) -> str:
    """The best format the client takes: AVIF, then WebP, else JPEG."""
    offered = {p.split(";")[0].strip().lower() for p in accept.split(",")}
    for fmt, media in ((OutputFormat.AVIF, "image/avif"), (OutputFormat.WEBP, "image/webp")):
        if media in offered:
            return str(fmt)
    return str(OutputFormat.JPEG)


def to_options(
    spec: Mapping[str, object] | None, *, auto: bool = False, expires: int | None = None
) -> str:
    """The options segment for a canonical spec (as `TransformSpec.canonical()` gives it)."""
    parts: list[str] = []
    canonical = dict(spec or {})
    crop = canonical.get("crop")
    if isinstance(crop, dict):
        parts.append(f"cr_{crop['x']}:{crop['y']}:{crop['width']}:{crop['height']}")
    resize = canonical.get("resize")
    if isinstance(resize, dict):
        if "width" in resize:
            parts.append(f"w_{resize['width']}")
        if "height" in resize:
            parts.append(f"h_{resize['height']}")
        if "fit" in resize:
            parts.append(f"c_{resize['fit']}")
        if "gravity" in resize:
            parts.append(f"g_{resize['gravity']}")
    if "rotate" in canonical:
        parts.append(f"r_{canonical['rotate']}")
    if canonical.get("mirror"):
        parts.append("fl_h")
    if canonical.get("flip"):
        parts.append("fl_v")
    filters = canonical.get("filters")
    if isinstance(filters, dict):
        for name in ("grayscale", "sepia", "sharpen"):
            if filters.get(name):
                parts.append(f"e_{name}")
        if "blur" in filters:
            parts.append(f"e_blur:{filters['blur']}")
    mark = canonical.get("watermark")
    if isinstance(mark, dict) and "text" in mark:
        text = base64.urlsafe_b64encode(str(mark["text"]).encode()).decode().rstrip("=")
        parts += [f"wt_{text}", f"wp_{mark['position']}", f"wo_{mark['opacity']}"]
    elif isinstance(mark, dict):
        parts += [f"wi_{mark['image']}", f"wp_{mark['position']}", f"wo_{mark['opacity']}"]
    if "quality" in canonical:
        parts.append(f"q_{canonical['quality']}")
    if auto:
        parts.append("f_auto")
    elif "format" in canonical:
        parts.append(f"f_{canonical['format']}")
    if expires is not None:
        parts.append(f"exp_{expires}")
    unsupported = set(canonical) - {
        "crop",
        "watermark",
        "resize",
        "rotate",
        "mirror",
        "flip",
        "filters",
        "quality",
        "format",
    }
    if unsupported:
        raise Unprocessable(
            f"These operations have no URL form yet: {', '.join(sorted(unsupported))}.",
            code="invalid_options",
            field="transformations",
        )
    return ",".join(parts) or "_"
