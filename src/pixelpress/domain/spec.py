"""The transformation spec: every accepted form parsed into one canonical spec with one hash.

Accepted forms (all equivalent specs share one hash):

- full JSON: ``{"transformations": {"resize": {"width": 800, "height": 600, "fit": "cover"},
  "crop": {"x": 0, "y": 0, "width": 400, "height": 300}, "rotate": 90, "flip": true,
  "mirror": true, "filters": {"grayscale": true, "sepia": true, "blur": 2.0, "sharpen": true},
  "watermark": {"text": "© me", "position": "bottom-right", "opacity": 0.5}, "format": "webp",
  "quality": 80}}`` (the inner object alone is accepted too);
- short form: ``{"resize": "1024x768" | "800x" | "x600", "filter": "grayscale" | ["grayscale",
  "sepia", "sharpen", "blur"], "watermark": "logo.png", "rotate": "90", "format": "jpg",
  "quality": "80", "compress": true | 60}``;
- flat query parameters (GET renders): ``width, height, fit, rotate, flip, mirror, format, quality,
  compress, grayscale, sepia, blur, sharpen, watermarkText, watermarkPosition, watermarkOpacity``.

Operations always apply in this order: orient (EXIF) -> crop -> resize -> rotate -> flip/mirror
-> filters (grayscale, sepia, blur, sharpen) -> watermark -> encode.

Semantics: ``flip`` turns the image upside down, ``mirror`` swaps left and right. ``rotate`` is
clockwise, any angle; the canvas grows to hold the rotated image. ``resize`` with one edge keeps
the aspect ratio; with both, ``fit`` decides: ``cover`` (default) fills both edges and crops the
overflow, ``contain`` fits inside and pads to exactly WxH, ``fill`` stretches, ``inside`` fits
inside keeping the aspect (the output may be smaller on one edge), ``outside`` covers keeping
the aspect (larger on one edge). ``compress: true`` means quality 60 unless a quality is given;
``compress: N`` means quality N. Without ``format`` the source's format is kept when it is an
output format (TIFF becomes JPEG). A watermark ``image`` names one of the user's own images by id
or filename; the canonical form holds the resolved image id.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.models import ImageLimits

MAX_DIMENSION = 65_535
MAX_TEXT = 200
MAX_BLUR = 100.0
COMPRESS_QUALITY = 60
DEFAULT_BLUR = 2.0


class Fit(StrEnum):
    COVER = "cover"
    CONTAIN = "contain"
    FILL = "fill"
    INSIDE = "inside"
    OUTSIDE = "outside"


class OutputFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"
    GIF = "gif"


FORMAT_ALIASES = {"jpg": "jpeg"}


class Position(StrEnum):
    TOP_LEFT = "top-left"
    TOP = "top"
    TOP_RIGHT = "top-right"
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM = "bottom"
    BOTTOM_RIGHT = "bottom-right"


@dataclass(frozen=True)
class Resize:
    width: int | None
    height: int | None
    fit: Fit = Fit.COVER


@dataclass(frozen=True)
class Crop:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Watermark:
    text: str | None = None
    image: str | None = None
    """An image reference as given (id or filename) until resolved; then the image id."""
    resolved: bool = False
    position: Position = Position.BOTTOM_RIGHT
    opacity: float = 0.5


@dataclass(frozen=True)
class OutputPlan:
    width: int
    height: int
    format: OutputFormat


@dataclass(frozen=True)
class TransformSpec:
    resize: Resize | None = None
    crop: Crop | None = None
    rotate: float = 0
    flip: bool = False
    mirror: bool = False
    grayscale: bool = False
    sepia: bool = False
    blur: float | None = None
    sharpen: bool = False
    watermark: Watermark | None = None
    format: OutputFormat | None = None
    quality: int | None = None

    def canonical(self) -> dict[str, Any]:
        """Only what differs from doing nothing, in one fixed order, numbers normalised."""
        out: dict[str, Any] = {}
        if self.crop:
            c = self.crop
            out["crop"] = {"x": c.x, "y": c.y, "width": c.width, "height": c.height}
        if self.resize:
            r: dict[str, Any] = {}
            if self.resize.width is not None:
                r["width"] = self.resize.width
            if self.resize.height is not None:
                r["height"] = self.resize.height
            if self.resize.width is not None and self.resize.height is not None:
                r["fit"] = str(self.resize.fit)
            out["resize"] = r
        if self.rotate:
            out["rotate"] = _number(self.rotate)
        if self.flip:
            out["flip"] = True
        if self.mirror:
            out["mirror"] = True
        filters: dict[str, Any] = {}
        if self.grayscale:
            filters["grayscale"] = True
        if self.sepia:
            filters["sepia"] = True
        if self.blur is not None:
            filters["blur"] = _number(self.blur)
        if self.sharpen:
            filters["sharpen"] = True
        if filters:
            out["filters"] = filters
        if self.watermark:
            w = self.watermark
            mark: dict[str, Any] = {"text": w.text} if w.text is not None else {"image": w.image}
            mark["position"] = str(w.position)
            mark["opacity"] = _number(w.opacity)
            out["watermark"] = mark
        if self.format is not None:
            out["format"] = str(self.format)
        if self.quality is not None:
            out["quality"] = self.quality
        return out

    @property
    def hash(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any]) -> TransformSpec:
        spec = parse_spec(dict(data))
        if spec.watermark and spec.watermark.image is not None:
            spec = replace(spec, watermark=replace(spec.watermark, resolved=True))
        return spec

    @property
    def watermark_ref(self) -> str | None:
        """The image reference of a watermark still to be resolved to an image id."""
        w = self.watermark
        return w.image if w and w.image is not None and not w.resolved else None

    @property
    def watermark_image_id(self) -> str | None:
        w = self.watermark
        return w.image if w and w.image is not None and w.resolved else None

    def with_watermark_image(self, image_id: str) -> TransformSpec:
        assert self.watermark is not None
        return replace(self, watermark=replace(self.watermark, image=image_id, resolved=True))


def _number(value: float) -> int | float:
    rounded = round(value, 3)
    return int(rounded) if rounded == int(rounded) else rounded


# --- parsing -------------------------------------------------------------------------------------


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_spec", field=field)


def _nonsense(field: str, message: str, **details: Any) -> Unprocessable:
    err = Unprocessable(message, code="invalid_spec", field=field)
    if details:
        err.details = [{"field": field, "message": message, **details}]
    return err


def _int(value: Any, field: str, *, lo: int, hi: int, text_ok: bool = False) -> int:
    if text_ok and isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise _bad(field, f"'{field}' must be a whole number.") from None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise _bad(field, f"'{field}' must be a whole number.")
    number: int = value
    if not lo <= number <= hi:
        raise _nonsense(field, f"'{field}' must be between {lo} and {hi}.", min=lo, max=hi)
    return number


def _float(value: Any, field: str, *, lo: float, hi: float, text_ok: bool = False) -> float:
    if text_ok and isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _bad(field, f"'{field}' must be a number.") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(field, f"'{field}' must be a number.")
    if not lo <= value <= hi:
        raise _nonsense(field, f"'{field}' must be between {lo:g} and {hi:g}.", min=lo, max=hi)
    return float(value)


def _bool(value: Any, field: str, *, text_ok: bool = False) -> bool:
    if text_ok and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on", ""):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
    if not isinstance(value, bool):
        raise _bad(field, f"'{field}' must be true or false.")
    return value


def _choice(value: Any, field: str, enum: type[StrEnum], aliases: Mapping[str, str] = {}) -> Any:
    if not isinstance(value, str):
        raise _bad(field, f"'{field}' must be a string.")
    key = aliases.get(value.strip().lower(), value.strip().lower())
    try:
        return enum(key)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise _nonsense(field, f"'{field}' must be one of: {allowed}.") from None


def _object(value: Any, field: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(field, f"'{field}' must be an object.")
    for key in value:
        if key not in allowed:
            raise _bad(f"{field}.{key}", f"Unknown field '{field}.{key}'.")
    return value


def _dimension(value: Any, field: str, text_ok: bool = False) -> int:
    return _int(value, field, lo=1, hi=MAX_DIMENSION, text_ok=text_ok)


def _resize(value: Any, field: str) -> Resize:
    if isinstance(value, str):  # "800x600", "800x", "x600", "800"
        width_text, _, height_text = value.strip().lower().partition("x")
        if not width_text and not height_text:
            raise _bad(field, f"'{field}' must look like 800x600, 800x or x600.")
        width = _dimension(width_text, f"{field}.width", True) if width_text else None
        height = _dimension(height_text, f"{field}.height", True) if height_text else None
        return Resize(width, height)
    obj = _object(value, field, {"width", "height", "fit"})
    width = _dimension(obj["width"], f"{field}.width") if obj.get("width") is not None else None
    height = _dimension(obj["height"], f"{field}.height") if obj.get("height") is not None else None
    if width is None and height is None:
        raise _nonsense(field, f"'{field}' needs a width, a height or both.")
    fit = _choice(obj["fit"], f"{field}.fit", Fit) if "fit" in obj else Fit.COVER
    return Resize(width, height, fit)


def _crop(value: Any, field: str) -> Crop:
    obj = _object(value, field, {"x", "y", "width", "height"})
    for key in ("x", "y", "width", "height"):
        if key not in obj:
            raise _bad(f"{field}.{key}", f"'{field}' needs x, y, width and height.")
    return Crop(
        _int(obj["x"], f"{field}.x", lo=0, hi=MAX_DIMENSION),
        _int(obj["y"], f"{field}.y", lo=0, hi=MAX_DIMENSION),
        _dimension(obj["width"], f"{field}.width"),
        _dimension(obj["height"], f"{field}.height"),
    )


def _rotate(value: Any, field: str, text_ok: bool) -> float:
    angle = _float(value, field, lo=-1e6, hi=1e6, text_ok=text_ok)
    return round(angle % 360, 3) % 360


def _watermark(value: Any, field: str) -> Watermark:
    if isinstance(value, str):
        return Watermark(image=_ref(value, field))
    obj = _object(value, field, {"text", "image", "position", "opacity"})
    if ("text" in obj) == ("image" in obj):
        raise _bad(field, f"'{field}' needs either a text or an image.")
    position = (
        _choice(obj["position"], f"{field}.position", Position)
        if "position" in obj
        else Position.BOTTOM_RIGHT
    )
    opacity = (
        _float(obj["opacity"], f"{field}.opacity", lo=0.0, hi=1.0) if "opacity" in obj else 0.5
    )
    if "text" in obj:
        return Watermark(
            text=_text(obj["text"], f"{field}.text"), position=position, opacity=opacity
        )
    return Watermark(image=_ref(obj["image"], f"{field}.image"), position=position, opacity=opacity)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _bad(field, f"'{field}' must be a string.")
    if not value.strip() or len(value) > MAX_TEXT:
        raise _nonsense(field, f"'{field}' must be 1 to {MAX_TEXT} characters.")
    return value


def _ref(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(field, f"'{field}' must name one of your images by id or filename.")
    return value.strip()[:255]


FILTERS = {"grayscale", "greyscale", "sepia", "blur", "sharpen"}


def _filters(value: Any, field: str, into: dict[str, Any]) -> None:
    obj = _object(value, field, {"grayscale", "sepia", "blur", "sharpen"})
    for key in ("grayscale", "sepia", "sharpen"):
        if key in obj:
            into[key] = _bool(obj[key], f"{field}.{key}")
    if "blur" in obj and obj["blur"] is not False:
        blur = obj["blur"]
        sigma = DEFAULT_BLUR if blur is True else _float(blur, f"{field}.blur", lo=0.1, hi=MAX_BLUR)
        into["blur"] = sigma


def _short_filters(value: Any, field: str, into: dict[str, Any]) -> None:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _bad(field, f"'{field}' must be a filter name or a list of them.")
    for name in names:
        key, _, arg = name.strip().lower().partition(":")
        if key not in FILTERS:
            raise _nonsense(
                field, f"Unknown filter '{name}'; use: grayscale, sepia, blur, sharpen."
            )
        if key == "greyscale":
            key = "grayscale"
        if key == "blur":
            into["blur"] = (
                _float(arg, field, lo=0.1, hi=MAX_BLUR, text_ok=True) if arg else DEFAULT_BLUR
            )
        else:
            into[key] = True


def _quality(value: Any, field: str, text_ok: bool) -> int:
    return _int(value, field, lo=1, hi=100, text_ok=text_ok)


def _compress(value: Any, field: str, text_ok: bool) -> int | None:
    if isinstance(value, bool) or (
        text_ok and str(value).lower() in ("true", "false", "yes", "no")
    ):
        return COMPRESS_QUALITY if _bool(value, field, text_ok=text_ok) else None
    return _quality(value, field, text_ok)


KEYS = {
    "resize", "crop", "rotate", "flip", "mirror", "filters", "filter", "watermark", "format",
    "quality", "compress",
}  # fmt: skip


def parse_spec(payload: object) -> TransformSpec:
    """The full or the short JSON form (or a mix) -> TransformSpec."""
    if isinstance(payload, dict) and set(payload) == {"transformations"}:
        payload, prefix = payload["transformations"], "transformations."
    else:
        prefix = ""
    if not isinstance(payload, dict):
        raise _bad("transformations", "The transformations must be a JSON object.")
    values: dict[str, Any] = {}
    compress: int | None = None
    for key, value in payload.items():
        field = prefix + key
        if key not in KEYS:
            raise _bad(field, f"Unknown operation '{key}'.")
        if key == "resize":
            values["resize"] = _resize(value, field)
        elif key == "crop":
            values["crop"] = _crop(value, field)
        elif key == "rotate":
            values["rotate"] = _rotate(value, field, text_ok=True)
        elif key in ("flip", "mirror"):
            values[key] = _bool(value, field)
        elif key == "filters":
            _filters(value, field, values)
        elif key == "filter":
            _short_filters(value, field, values)
        elif key == "watermark":
            values["watermark"] = _watermark(value, field)
        elif key == "format":
            values["format"] = _choice(value, field, OutputFormat, FORMAT_ALIASES)
        elif key == "quality":
            values["quality"] = _quality(value, field, text_ok=True)
        elif key == "compress":
            compress = _compress(value, field, text_ok=False)
    if "quality" not in values and compress is not None:
        values["quality"] = compress
    return _finish(TransformSpec(**values), prefix)


QUERY_KEYS = {
    "width", "height", "fit", "rotate", "flip", "mirror", "format", "quality", "compress",
    "grayscale", "sepia", "blur", "sharpen", "watermarkText", "watermarkPosition",
    "watermarkOpacity",
}  # fmt: skip


def parse_query(params: Mapping[str, str]) -> TransformSpec:
    """Flat query parameters of a GET render -> TransformSpec."""
    for key in params:
        if key not in QUERY_KEYS:
            raise _bad(key, f"Unknown parameter '{key}'.")
    values: dict[str, Any] = {}
    width = _dimension(params["width"], "width", True) if "width" in params else None
    height = _dimension(params["height"], "height", True) if "height" in params else None
    if width is not None or height is not None:
        fit = _choice(params["fit"], "fit", Fit) if "fit" in params else Fit.COVER
        values["resize"] = Resize(width, height, fit)
    elif "fit" in params:
        raise _nonsense("fit", "'fit' goes with a width and a height.")
    if "rotate" in params:
        values["rotate"] = _rotate(params["rotate"], "rotate", text_ok=True)
    for key in ("flip", "mirror", "grayscale", "sepia", "sharpen"):
        if key in params:
            values[key] = _bool(params[key], key, text_ok=True)
    if "blur" in params:
        text = params["blur"]
        blur_on = text.strip().lower() in ("true", "yes", "on", "")
        values["blur"] = (
            DEFAULT_BLUR if blur_on else _float(text, "blur", lo=0.1, hi=MAX_BLUR, text_ok=True)
        )
    if "format" in params:
        values["format"] = _choice(params["format"], "format", OutputFormat, FORMAT_ALIASES)
    if "quality" in params:
        values["quality"] = _quality(params["quality"], "quality", text_ok=True)
    elif "compress" in params:
        compressed = _compress(params["compress"], "compress", text_ok=True)
        if compressed is not None:
            values["quality"] = compressed
    if "watermarkText" in params:
        mark: dict[str, Any] = {"text": params["watermarkText"]}
        if "watermarkPosition" in params:
            mark["position"] = params["watermarkPosition"]
        if "watermarkOpacity" in params:
            mark["opacity"] = _float(
                params["watermarkOpacity"], "watermarkOpacity", lo=0, hi=1, text_ok=True
            )
        values["watermark"] = _watermark(mark, "watermark")
    return _finish(TransformSpec(**values), "")


def _finish(spec: TransformSpec, prefix: str) -> TransformSpec:
    if not spec.canonical():
        raise _nonsense(
            prefix.rstrip(".") or "transformations", "The specification has no operation."
        )
    return spec


# --- planning ------------------------------------------------------------------------------------


def output_format(spec: TransformSpec, source_format: str) -> OutputFormat:
    if spec.format is not None:
        return spec.format
    try:
        return OutputFormat(source_format)
    except ValueError:
        return OutputFormat.JPEG


def resized(resize: Resize, width: int, height: int) -> tuple[int, int]:
    """The size a resize gives an image of width x height."""
    w, h = resize.width, resize.height
    if w is None:
        assert h is not None
        return max(1, round(width * h / height)), h
    if h is None:
        return w, max(1, round(height * w / width))
    if resize.fit in (Fit.COVER, Fit.CONTAIN, Fit.FILL):
        return w, h
    pick = min if resize.fit is Fit.INSIDE else max
    scale = pick(w / width, h / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def rotated(angle: float, width: int, height: int) -> tuple[int, int]:
    """The canvas that holds a width x height image turned by `angle` degrees."""
    if angle % 180 == 0:
        return width, height
    if angle % 90 == 0:
        return height, width
    a = math.radians(angle)
    cos, sin = abs(math.cos(a)), abs(math.sin(a))
    return max(1, round(width * cos + height * sin)), max(1, round(width * sin + height * cos))


def plan(
    spec: TransformSpec, *, width: int, height: int, source_format: str, limits: ImageLimits
) -> OutputPlan:
    """The output's size and format, computed without touching a pixel. Refuses (422) a crop
    outside the image and a final output over the limits."""
    if spec.crop:
        c = spec.crop
        if c.x + c.width > width or c.y + c.height > height:
            raise _nonsense(
                "crop",
                f"The crop falls outside the {width}x{height} image.",
                image={"width": width, "height": height},
            )
        width, height = c.width, c.height
    if spec.resize:
        width, height = resized(spec.resize, width, height)
    width, height = rotated(spec.rotate, width, height)
    if width > limits.max_edge or height > limits.max_edge:
        raise _nonsense(
            "resize",
            f"The output would be {width}x{height}; edges are limited to {limits.max_edge} px.",
            limit=limits.max_edge,
        )
    if width * height > limits.max_pixels:
        raise _nonsense(
            "resize",
            f"The output would have {width * height} pixels; the limit is {limits.max_pixels}.",
            limit=limits.max_pixels,
        )
    return OutputPlan(width, height, output_format(spec, source_format))
