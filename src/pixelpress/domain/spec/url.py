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
    dpr_2                 device pixel ratio 1..4 (decimals allowed): multiplies w_ and h_
                          (`domain.spec.responsive`); dpr_auto: from the client's DPR hint
    w_auto  w_auto:800    the width from the client's width hint, rounded up to a step; without
                          a hint the fallback (or 1024), an ordinary width
    exp_1767225600        the URL stops working at this unix time (covered by the signature)
    v_3f2a9c1e            a version (up to 32 letters and digits): changes the URL, never the
                          image (minted URLs carry the content's: see `content_version`)
    t_thumb               a named preset (`domain.presets`): its options come first, and the
                          URL's own options override them (`expand_presets`)
    _                     no option at all (the original, re-encoded upright and stripped)

They map onto the flat query parameters of `domain.spec`, so a URL and the equivalent JSON
spec share one canonical spec and one hash. A `.ext` on the image id sets the format too.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field

from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.limits import ImageLimits
from pixelpress.domain.spec.query import parse_query
from pixelpress.domain.spec.responsive import DEFAULT_AUTO_WIDTH, Hint, apply_dpr, dpr_factor
from pixelpress.domain.spec.types import OutputFormat, TransformSpec
from pixelpress.domain.spec.values import nonsense, read_int, whole_number

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
    hints: tuple[Hint, ...] = ()
    """The client hints this URL reads (`dpr_auto`, `w_auto`), whatever the request sent."""


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_options", field="options")


def parse_options(
    text: str,
    *,
    ext: str | None = None,
    accept: str = "",
    limits: ImageLimits | None = None,
    dpr: float | None = None,
    width: int | None = None,
) -> UrlOptions:
    """`dpr` and `width`: the client's hints, as `hinted_dpr` and `hinted_width` give them
    (read only by `dpr_auto` and `w_auto`)."""
    edge = (limits or ImageLimits()).max_edge
    read = read_options(text, edge)
    params, auto, expires, factor = read.params, read.auto, read.expires, read.factor
    auto_dpr, auto_width = read.auto_dpr, read.auto_width
    if ext:
        params["format"] = ext
        auto = False
    if auto:
        params["format"] = negotiate(accept)
    hints = (Hint.DPR,) * auto_dpr + (Hint.WIDTH,) * (auto_width is not None)
    if auto_width is not None:
        params["width"] = str(width or auto_width)
    if auto_dpr:
        factor = dpr or 1.0
    if not params:
        if factor is not None:
            raise nonsense("dpr", "'dpr' needs a width or a height.")
        return UrlOptions(None, auto, expires)
    spec = parse_query(params, limits=limits) if limits else parse_query(params)
    if factor is not None:
        # A hinted width is in physical pixels already: the dpr leaves it alone.
        hinted = auto_width is not None and width is not None
        spec = apply_dpr(spec, factor, max_edge=edge, field="dpr", width=not hinted)
    if "watermarkImage" in params:
        # By id, as minting resolved it; the signature vouches for it.
        spec = spec.with_watermark_image(params["watermarkImage"])
    return UrlOptions(spec, auto, expires, hints)


@dataclass
class ReadOptions:
    """The options as flat query parameters (later options override earlier ones) and what
    else they say."""

    params: dict[str, str] = field(default_factory=dict)
    auto: bool = False
    """f_auto."""
    expires: int | None = None
    factor: float | None = None
    """The dpr, when given as a number."""
    auto_dpr: bool = False
    auto_width: int | None = None
    """The fallback of w_auto."""


def read_options(text: str, edge: int) -> ReadOptions:
    read = ReadOptions()
    params = read.params
    for part in [] if text in ("", "_") else text.split(","):
        key, sep, value = part.partition("_")
        if not sep or not key or not value:
            raise _bad(f"Option '{part}' is not of the form key_value.")
        if key == "g" and value in ("center", "centre"):
            params.pop("gravity", None)  # the default, said aloud (it overrides a preset's)
            continue
        if key == "w" and value.partition(":")[0] == "auto":
            fallback = value.partition(":")[2]
            read.auto_width = (
                read_int(fallback, "width", lo=1, hi=edge, text_ok=True)
                if fallback
                else DEFAULT_AUTO_WIDTH
            )
        elif key == "dpr":  # a later dpr_ (or w_) overrides an earlier one, a preset's too
            read.auto_dpr = value == "auto"
            read.factor = None if read.auto_dpr else dpr_factor(value)
        elif key in SIMPLE:
            params[SIMPLE[key]] = value
            read.auto_width = None if key == "w" else read.auto_width
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
            read.auto = value == "auto"
            if not read.auto:
                params["format"] = value
        elif key == "exp":
            if not (value.isascii() and value.isdigit()):  # "¹" is a digit to isdigit()
                raise _bad("exp_ takes a unix time.")
            read.expires = whole_number(value)
        elif key == "v":
            if not (value.isascii() and value.isalnum() and len(value) <= MAX_VERSION):
                raise _bad(f"v_ takes a version: up to {MAX_VERSION} letters and digits.")
        elif key == PRESET:
            raise _bad(f"Preset 't_{value}' is not known here.")
        else:
            raise _bad(f"Unknown option '{key}_'.")
    return read


PRESET = "t"
MAX_VERSION = 32
VERSION_CHARS = 8


def content_version(content_hash: str) -> str:
    """What a minted URL says of the image's bytes (`v_`): new bytes under the same id
    (a replace) make new URLs, so no browser or CDN keeps serving the old pixels."""
    return content_hash[:VERSION_CHARS]


def preset_names(text: str) -> tuple[str, ...]:
    """The presets an options segment names (`t_thumb`), in order."""
    if "t_" not in text:  # the common case, at the price of a substring test
        return ()
    return tuple(p[2:] for p in text.split(",") if p.startswith("t_"))


def expand_presets(text: str, expansions: Mapping[str, str]) -> str:
    """The options with their presets expanded: every preset's options first (in the order
    named), then the others, which so override them (as imgproxy does)."""
    parts = [] if text in ("", "_") else text.split(",")
    named = [expansions[p[2:]] for p in parts if p.startswith("t_")]
    own = [p for p in parts if not p.startswith("t_")]
    return ",".join([*named, *own]) or "_"


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
    spec: Mapping[str, object] | None,
    *,
    auto: bool = False,
    expires: int | None = None,
    auto_dpr: bool = False,
    auto_width: bool = False,
    version: str | None = None,
) -> str:
    """The options segment for a canonical spec (as `TransformSpec.canonical()` gives it).
    `auto_width`: `w_auto`, the spec's width (if any) as its fallback; `auto_dpr`: `dpr_auto`."""
    parts: list[str] = []
    canonical = dict(spec or {})
    crop = canonical.get("crop")
    if isinstance(crop, dict):
        parts.append(f"cr_{crop['x']}:{crop['y']}:{crop['width']}:{crop['height']}")
    resize = canonical.get("resize")
    if auto_width:
        fallback = resize.get("width") if isinstance(resize, dict) else None
        parts.append("w_auto" if fallback is None else f"w_auto:{fallback}")
    elif isinstance(resize, dict) and "width" in resize:
        parts.append(f"w_{resize['width']}")
    if isinstance(resize, dict):
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
    if auto_dpr:
        if not isinstance(resize, dict) and not auto_width:
            raise Unprocessable(
                "dpr_auto needs a width or a height.", code="invalid_options", field="dpr"
            )
        parts.append("dpr_auto")
    if "quality" in canonical:
        parts.append(f"q_{canonical['quality']}")
    if auto:
        parts.append("f_auto")
    elif "format" in canonical:
        parts.append(f"f_{canonical['format']}")
    if version is not None:
        parts.append(f"v_{version}")
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
