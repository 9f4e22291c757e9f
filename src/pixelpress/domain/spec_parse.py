"""Parsing every accepted form of a transformation spec (grammar in `domain.spec`).

Malformed input (unknown field, wrong type) is InvalidInput; values that parse but make no sense
(out of bounds, nothing to do) are Unprocessable. Both carry code `invalid_spec` and name the field.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Any, TypeVar

from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec_types import (
    COMPRESSED_QUALITY,
    DEFAULT_BLUR,
    DEFAULT_OPACITY,
    FORMAT_ALIASES,
    GRAVITY_ALIASES,
    MAX_BLUR,
    MAX_REF,
    MAX_TEXT,
    MIN_BLUR,
    Crop,
    Fit,
    Gravity,
    OutputFormat,
    Position,
    Resize,
    TransformSpec,
    Watermark,
)
from pixelpress.domain.text import flaw

CODE = "invalid_spec"
DEFAULT_LIMITS = ImageLimits()
# A stored spec was checked when it was requested; plan() applies today's limits when it runs.
UNBOUNDED = ImageLimits(max_edge=2**31 - 1)
OPERATIONS = frozenset(
    {"resize", "crop", "rotate", "flip", "mirror", "filters", "filter", "watermark", "format",
     "quality", "compress"}
)  # fmt: skip
QUERY_KEYS = frozenset(
    {"crop", "width", "height", "fit", "gravity", "rotate", "flip", "mirror", "format",
     "quality", "compress", "grayscale", "sepia", "blur", "sharpen", "watermarkText",
     "watermarkImage", "watermarkPosition", "watermarkOpacity"}
)  # fmt: skip
FILTER_NAMES = {"grayscale": "grayscale", "greyscale": "grayscale", "sepia": "sepia",
                "sharpen": "sharpen", "blur": "blur"}  # fmt: skip
TRUE_WORDS = frozenset({"true", "1", "yes", "on", ""})  # "" so that `?flip` alone means flip
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})  # space, format, marks
SIZE = re.compile(r"([0-9]*)x([0-9]*)|([0-9]+)")
# Numbers written as text (query parameters, URL options): ASCII digits only, nothing around them
# (int() and float() would also take spaces, underscores, "+" and other scripts' digits).
INTEGER = re.compile(r"-?[0-9]+")
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?|-?\.[0-9]+")

E = TypeVar("E", bound=StrEnum)


def parse_spec(payload: object, *, limits: ImageLimits = DEFAULT_LIMITS) -> TransformSpec:
    """`{"transformations": {...}}` or the inner object; full and short forms mix freely.
    `limits.max_edge` bounds every edge and offset."""
    prefix = ""
    if isinstance(payload, Mapping) and set(payload) == {"transformations"}:
        payload, prefix = payload["transformations"], "transformations"
    return _parse_object(payload, prefix, limits.max_edge, trusted=False)


def parse_canonical(data: object) -> TransformSpec:
    return _parse_object(data, "spec", UNBOUNDED.max_edge, trusted=True)


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
            raise _bad(key, f"Unknown parameter '{key}'.")
    p = {k: v for k, v in params.items() if k in QUERY_KEYS}
    values: dict[str, Any] = {}
    edge = limits.max_edge
    if "crop" in p:
        values["crop"] = _crop_text(p["crop"], "crop", edge)
    width = _int(p["width"], "width", lo=1, hi=edge, text_ok=True) if "width" in p else None
    height = _int(p["height"], "height", lo=1, hi=edge, text_ok=True) if "height" in p else None
    fit = _choice(p["fit"], "fit", Fit) if "fit" in p else Fit.COVER
    gravity = _gravity(p["gravity"], "gravity") if "gravity" in p else Gravity.CENTER
    if width is not None or height is not None:
        values["resize"] = Resize(width, height, fit, gravity)
    else:
        if "fit" in p:
            raise _nonsense("fit", "'fit' needs a width and a height.")
        if gravity is not Gravity.CENTER:  # (the default alone changes nothing)
            raise _nonsense("gravity", "'gravity' needs a width and a height.")
    if "rotate" in p:
        values["rotate"] = _rotate(p["rotate"], "rotate", text_ok=True)
    for key in ("flip", "mirror", "grayscale", "sepia", "sharpen"):
        if key in p:
            values[key] = _bool(p[key], key, text_ok=True)
    if "blur" in p:
        values["blur"] = _blur(p["blur"], "blur", text_ok=True)
    if "format" in p:
        values["format"] = _choice(p["format"], "format", OutputFormat, FORMAT_ALIASES)
    if "quality" in p:
        values["quality"] = _int(p["quality"], "quality", lo=1, hi=100, text_ok=True)
    if "compress" in p:
        _compress(p["compress"], "compress", values, text_ok=True)
    if "watermarkText" in p and "watermarkImage" in p:
        raise _nonsense("watermarkImage", "Give a watermarkText or a watermarkImage, not both.")
    if "watermarkText" in p or "watermarkImage" in p:
        values["watermark"] = Watermark(
            text=_text(p["watermarkText"], "watermarkText") if "watermarkText" in p else None,
            image=_ref(p["watermarkImage"], "watermarkImage") if "watermarkImage" in p else None,
            position=_choice(p.get("watermarkPosition", "bottom-right"), "watermarkPosition",
                             Position),
            opacity=_opacity(p.get("watermarkOpacity", DEFAULT_OPACITY), "watermarkOpacity",
                             text_ok=True),
        )  # fmt: skip
    else:
        for key in ("watermarkPosition", "watermarkOpacity"):
            if key in p:
                raise _nonsense(key, f"'{key}' needs a watermarkText or a watermarkImage.")
    return _finish(values, "transformations")


# --- errors and scalar readers -------------------------------------------------------------------


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, code=CODE, field=field)


def _nonsense(field: str, message: str, **details: Any) -> Unprocessable:
    err = Unprocessable(message, code=CODE, field=field)
    if details:
        err.details = [{"field": field, "message": message, **details}]
    return err


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _int(value: Any, field: str, *, lo: int, hi: int, text_ok: bool = False) -> int:
    if text_ok and isinstance(value, str):
        if not INTEGER.fullmatch(value):
            raise _bad(field, f"'{field}' must be a whole number.")
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):  # a bool is an int to Python
        raise _bad(field, f"'{field}' must be a whole number.")
    if not lo <= value <= hi:
        raise _nonsense(field, f"'{field}' must be between {lo} and {hi}.", min=lo, max=hi)
    return value


def _float(value: Any, field: str, *, lo: float, hi: float, text_ok: bool = False) -> float:
    if text_ok and isinstance(value, str):
        if not DECIMAL.fullmatch(value):
            raise _bad(field, f"'{field}' must be a number.")
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(field, f"'{field}' must be a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad(field, f"'{field}' must be a number.")
    if not lo <= value <= hi:  # exact for ints of any size (float() of 10**400 would raise)
        raise _nonsense(field, f"'{field}' must be between {lo:g} and {hi:g}.", min=lo, max=hi)
    return float(value)


def _bool(value: Any, field: str, *, text_ok: bool = False) -> bool:
    if text_ok and isinstance(value, str) and value in TRUE_WORDS | FALSE_WORDS:
        return value in TRUE_WORDS
    if not isinstance(value, bool):
        raise _bad(field, f"'{field}' must be true or false.")
    return value


def _choice(value: Any, field: str, enum: type[E], aliases: Mapping[str, str] | None = None) -> E:
    if not isinstance(value, str):
        raise _bad(field, f"'{field}' must be a string.")
    # Exactly as written: " JPEG" is not a format (nothing is trimmed or case-folded).
    try:
        return enum((aliases or {}).get(value, value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise _nonsense(field, f"'{field}' must be one of: {allowed}.") from None


def _object(value: Any, field: str, allowed: Collection[str]) -> dict[str, Any]:
    """The known keys of a JSON object; `null` means "not given"."""
    if not isinstance(value, Mapping):
        raise _bad(field or "transformations", f"'{field or 'transformations'}' must be an object.")
    for key in value:
        if key not in allowed:
            name = _join(field, str(key))
            raise _bad(name, f"Unknown field '{name}'.")
    return {k: v for k, v in value.items() if v is not None}


# --- operations ----------------------------------------------------------------------------------


def _rotate(value: Any, field: str, text_ok: bool) -> float:
    angle = _float(value, field, lo=-1e6, hi=1e6, text_ok=text_ok)
    return round(angle % 360, 3) % 360  # rounding can land on 360.0


def _blur(value: Any, field: str, text_ok: bool) -> float | None:
    """true: the default sigma; false: no blur; else the sigma ("0" is a sigma, out of bounds)."""
    word = value if text_ok and isinstance(value, str) else None
    if value is True or word in ("true", "yes", "on", ""):
        return DEFAULT_BLUR
    if value is False or word in ("false", "no", "off"):
        return None
    return round(_float(value, field, lo=MIN_BLUR, hi=MAX_BLUR, text_ok=text_ok), 3)


def _opacity(value: Any, field: str, text_ok: bool = False) -> float:
    return round(_float(value, field, lo=0.0, hi=1.0, text_ok=text_ok), 3)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _bad(field, f"'{field}' must be a string.")
    if (reason := flaw(value)) is not None:
        raise _bad(field, f"'{field}' {reason}.")
    if not value.strip() or len(value) > MAX_TEXT:
        raise _nonsense(field, f"'{field}' must be 1 to {MAX_TEXT} characters.", max=MAX_TEXT)
    if any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in value):
        raise _nonsense(field, f"'{field}' must not contain control characters.")
    if all(unicodedata.category(ch) in INVISIBLE for ch in value):
        raise _nonsense(field, f"'{field}' has nothing to draw.")  # say, a zero-width space
    return value


def _ref(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _bad(field, f"'{field}' must name one of your images by id or filename.")
    if (reason := flaw(value)) is not None:
        raise _bad(field, f"'{field}' {reason}.")
    if not value or len(value) > MAX_REF:
        raise _nonsense(field, f"'{field}' must be 1 to {MAX_REF} characters.", max=MAX_REF)
    return value


def _resize(value: Any, field: str, edge: int) -> Resize:
    if isinstance(value, str):  # "800x600", "800x", "x600" (or just "800")
        match = SIZE.fullmatch(value)
        if match is None or not any(match.groups()):
            raise _bad(_join(field, "width"), f"'{field}' must look like 800x600, 800x or x600.")
        width_text = match.group(1) or match.group(3)
        height_text = match.group(2)
        return Resize(
            _int(width_text, _join(field, "width"), lo=1, hi=edge, text_ok=True)
            if width_text
            else None,
            _int(height_text, _join(field, "height"), lo=1, hi=edge, text_ok=True)
            if height_text
            else None,
        )
    obj = _object(value, field, ("width", "height", "fit", "gravity"))
    width = _int(obj["width"], _join(field, "width"), lo=1, hi=edge) if "width" in obj else None
    height = _int(obj["height"], _join(field, "height"), lo=1, hi=edge) if "height" in obj else None
    if width is None and height is None:
        raise _nonsense(field, f"'{field}' needs a width, a height or both.")
    fit = _choice(obj["fit"], _join(field, "fit"), Fit) if "fit" in obj else Fit.COVER
    gravity = Gravity.CENTER
    if "gravity" in obj:
        gravity = _gravity(obj["gravity"], _join(field, "gravity"))
    return Resize(width, height, fit, gravity)


def _gravity(value: Any, field: str) -> Gravity:
    if isinstance(value, str):
        value = value.replace("_", "-")  # north_east as well as north-east
    return _choice(value, field, Gravity, GRAVITY_ALIASES)


def _crop(value: Any, field: str, edge: int) -> Crop:
    obj = _object(value, field, ("x", "y", "width", "height"))
    for key in ("x", "y", "width", "height"):
        if key not in obj:
            raise _bad(_join(field, key), f"'{field}' needs x, y, width and height.")
    return Crop(
        _int(obj["x"], _join(field, "x"), lo=0, hi=edge),
        _int(obj["y"], _join(field, "y"), lo=0, hi=edge),
        _int(obj["width"], _join(field, "width"), lo=1, hi=edge),
        _int(obj["height"], _join(field, "height"), lo=1, hi=edge),
    )


def _crop_text(value: str, field: str, edge: int) -> Crop:
    """`X:Y:WIDTH:HEIGHT` (or with commas), as query parameters and URLs write a crop."""
    parts = re.split(r"[:,]", value)
    if len(parts) != 4:
        raise _bad(field, f"'{field}' must look like X:Y:WIDTH:HEIGHT.")
    names = ("x", "y", "width", "height")
    return _crop(
        dict(zip(names, [_int(v, field, lo=0, hi=edge, text_ok=True) for v in parts], strict=True)),
        field,
        edge,
    )


def _watermark(value: Any, field: str, trusted: bool) -> Watermark:
    if isinstance(value, str):
        return Watermark(image=_ref(value, field), resolved=trusted)
    obj = _object(value, field, ("text", "image", "position", "opacity"))
    if ("text" in obj) == ("image" in obj):
        raise _bad(field, f"'{field}' needs either a text or an image.")
    position = Position.BOTTOM_RIGHT
    if "position" in obj:
        position = _choice(obj["position"], _join(field, "position"), Position)
    opacity = _opacity(obj["opacity"], _join(field, "opacity")) if "opacity" in obj else 0.5
    if "text" in obj:
        text = _text(obj["text"], _join(field, "text"))
        return Watermark(text=text, position=position, opacity=opacity)
    image = _ref(obj["image"], _join(field, "image"))
    return Watermark(image=image, resolved=trusted, position=position, opacity=opacity)


def _filters(value: Any, field: str, into: dict[str, Any]) -> None:
    obj = _object(value, field, ("grayscale", "sepia", "blur", "sharpen"))
    for key in ("grayscale", "sepia", "sharpen"):
        if key in obj:
            into[key] = _bool(obj[key], _join(field, key))
    if "blur" in obj:
        into["blur"] = _blur(obj["blur"], _join(field, "blur"), text_ok=False)


def _short_filters(value: Any, field: str, into: dict[str, Any]) -> None:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _bad(field, f"'{field}' must be a filter name or a list of them.")
    for name in names:
        word, _, argument = name.partition(":")
        key = FILTER_NAMES.get(word)
        if key is None:
            allowed = "grayscale, sepia, blur, blur:SIGMA, sharpen"
            raise _bad(field, f"Unknown filter '{name}' in '{field}'; use: {allowed}.")
        if key == "blur":
            into["blur"] = _blur(argument or True, field, text_ok=True)
        else:
            into[key] = True


def _compress(value: Any, field: str, into: dict[str, Any], text_ok: bool) -> None:
    """`true` lowers the default quality; a number N is quality N."""
    if isinstance(value, bool) or (text_ok and value in TRUE_WORDS | FALSE_WORDS):
        into["compress"] = _bool(value, field, text_ok=text_ok)
        return
    quality = _int(value, field, lo=1, hi=100, text_ok=text_ok)
    if into.setdefault("quality", quality) != quality:
        raise _nonsense(field, f"'{field}' and quality disagree; give one of them.")


def _parse_object(payload: object, prefix: str, edge: int, *, trusted: bool) -> TransformSpec:
    obj = _object(payload, prefix, OPERATIONS)
    values: dict[str, Any] = {}
    # quality first, so that a `compress: N` can be compared with it
    for key in sorted(obj, key=lambda k: k != "quality"):
        value, field = obj[key], _join(prefix, key)
        if key == "resize":
            values["resize"] = _resize(value, field, edge)
        elif key == "crop":
            values["crop"] = _crop(value, field, edge)
        elif key == "rotate":
            values["rotate"] = _rotate(value, field, text_ok=False)
        elif key in ("flip", "mirror"):
            values[key] = _bool(value, field)
        elif key == "filters":
            _filters(value, field, values)
        elif key == "filter":
            _short_filters(value, field, values)
        elif key == "watermark":
            values["watermark"] = _watermark(value, field, trusted)
        elif key == "format":
            values["format"] = _choice(value, field, OutputFormat, FORMAT_ALIASES)
        elif key == "quality":
            values["quality"] = _int(value, field, lo=1, hi=100)
        elif key == "compress":
            _compress(value, field, values, text_ok=False)
    return _finish(values, prefix or "transformations")


def _finish(values: dict[str, Any], field: str) -> TransformSpec:
    """Normalises what cannot change the output, so that equivalent specs are equal."""
    spec = TransformSpec(**values)
    resize = spec.resize
    if resize is not None and (resize.width is None or resize.height is None):
        # One edge: fit and gravity are moot.
        spec = replace(spec, resize=replace(resize, fit=Fit.COVER, gravity=Gravity.CENTER))
    elif resize is not None and resize.fit is not Fit.COVER:
        spec = replace(spec, resize=replace(resize, gravity=Gravity.CENTER))  # nothing is cut
    if spec.quality is not None:
        spec = replace(spec, compress=False)
    if spec.format is OutputFormat.GIF:
        spec = replace(spec, quality=None, compress=False)
    elif spec.format is not None and spec.compress:
        spec = replace(spec, quality=COMPRESSED_QUALITY[spec.format], compress=False)
    if not spec.canonical():
        raise _nonsense(field, "The transformation has no operation to apply.")
    return spec
