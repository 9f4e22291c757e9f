"""Reading the values of a spec, in any of its grammars: numbers, booleans, choices, texts,
image references, crops, and the final normalisation (see `domain.spec`).

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
from pixelpress.domain.spec.types import (
    COMPRESSED_QUALITY,
    DEFAULT_BLUR,
    GRAVITY_ALIASES,
    MAX_BLUR,
    MAX_REF,
    MAX_TEXT,
    MIN_BLUR,
    Crop,
    Fit,
    Gravity,
    OutputFormat,
    TransformSpec,
)
from pixelpress.domain.text import flaw

CODE = "invalid_spec"
TRUE_WORDS = frozenset({"true", "1", "yes", "on", ""})  # "" so that `?flip` alone means flip
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})  # space, format, marks
# Numbers written as text (query parameters, URL options): ASCII digits only, nothing around them
# (int() and float() would also take spaces, underscores, "+" and other scripts' digits).
INTEGER = re.compile(r"-?[0-9]+")
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?|-?\.[0-9]+")

E = TypeVar("E", bound=StrEnum)


def bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, code=CODE, field=field)


def nonsense(field: str, message: str, **details: Any) -> Unprocessable:
    err = Unprocessable(message, code=CODE, field=field)
    if details:
        err.details = [{"field": field, "message": message, **details}]
    return err


def join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def whole_number(text: str) -> int:
    """The value of `text` (INTEGER's form); beyond 18 digits, a number beyond every limit
    (int() refuses strings of over 4300 digits, and nothing here takes more than 18)."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("-").lstrip("0") or "0"
    return sign * (10**19 if len(digits) > 18 else int(digits))


def read_int(value: Any, field: str, *, lo: int, hi: int, text_ok: bool = False) -> int:
    if text_ok and isinstance(value, str):
        if not INTEGER.fullmatch(value):
            raise bad(field, f"'{field}' must be a whole number.")
        value = whole_number(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):  # a bool is an int to Python
        raise bad(field, f"'{field}' must be a whole number.")
    if not lo <= value <= hi:
        raise nonsense(field, f"'{field}' must be between {lo} and {hi}.", min=lo, max=hi)
    return value


def read_float(value: Any, field: str, *, lo: float, hi: float, text_ok: bool = False) -> float:
    if text_ok and isinstance(value, str):
        if not DECIMAL.fullmatch(value):
            raise bad(field, f"'{field}' must be a number.")
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(field, f"'{field}' must be a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise bad(field, f"'{field}' must be a number.")
    if not lo <= value <= hi:  # exact for ints of any size (float() of 10**400 would raise)
        raise nonsense(field, f"'{field}' must be between {lo:g} and {hi:g}.", min=lo, max=hi)
    return float(value)


def read_bool(value: Any, field: str, *, text_ok: bool = False) -> bool:
    if text_ok and isinstance(value, str) and value in TRUE_WORDS | FALSE_WORDS:
        return value in TRUE_WORDS
    if not isinstance(value, bool):
        raise bad(field, f"'{field}' must be true or false.")
    return value


def read_choice(
    value: Any, field: str, enum: type[E], aliases: Mapping[str, str] | None = None
) -> E:
    if not isinstance(value, str):
        raise bad(field, f"'{field}' must be a string.")
    # Exactly as written: " JPEG" is not a format (nothing is trimmed or case-folded).
    try:
        return enum((aliases or {}).get(value, value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise nonsense(field, f"'{field}' must be one of: {allowed}.") from None


def read_object(value: Any, field: str, allowed: Collection[str]) -> dict[str, Any]:
    """The known keys of a JSON object; `null` means "not given"."""
    if not isinstance(value, Mapping):
        raise bad(field or "transformations", f"'{field or 'transformations'}' must be an object.")
    for key in value:
        if key not in allowed:
            name = join(field, str(key))
            raise bad(name, f"Unknown field '{name}'.")
    return {k: v for k, v in value.items() if v is not None}


def read_rotation(value: Any, field: str, text_ok: bool) -> float:
    angle = read_float(value, field, lo=-1e6, hi=1e6, text_ok=text_ok)
    return round(angle % 360, 3) % 360  # rounding can land on 360.0


def read_blur(value: Any, field: str, text_ok: bool) -> float | None:
    """true: the default sigma; false: no blur; else the sigma ("0" is a sigma, out of bounds)."""
    word = value if text_ok and isinstance(value, str) else None
    if value is True or word in ("true", "yes", "on", ""):
        return DEFAULT_BLUR
    if value is False or word in ("false", "no", "off"):
        return None
    return round(read_float(value, field, lo=MIN_BLUR, hi=MAX_BLUR, text_ok=text_ok), 3)


def read_opacity(value: Any, field: str, text_ok: bool = False) -> float:
    return round(read_float(value, field, lo=0.0, hi=1.0, text_ok=text_ok), 3)


def read_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise bad(field, f"'{field}' must be a string.")
    if (reason := flaw(value)) is not None:
        raise bad(field, f"'{field}' {reason}.")
    if not value.strip() or len(value) > MAX_TEXT:
        raise nonsense(field, f"'{field}' must be 1 to {MAX_TEXT} characters.", max=MAX_TEXT)
    if any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in value):
        raise nonsense(field, f"'{field}' must not contain control characters.")
    if all(unicodedata.category(ch) in INVISIBLE for ch in value):
        raise nonsense(field, f"'{field}' has nothing to draw.")  # say, a zero-width space
    return value


def read_ref(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise bad(field, f"'{field}' must name one of your images by id or filename.")
    if (reason := flaw(value)) is not None:
        raise bad(field, f"'{field}' {reason}.")
    if not value or len(value) > MAX_REF:
        raise nonsense(field, f"'{field}' must be 1 to {MAX_REF} characters.", max=MAX_REF)
    return value


def read_gravity(value: Any, field: str) -> Gravity:
    if isinstance(value, str):
        value = value.replace("_", "-")  # north_east as well as north-east
    return read_choice(value, field, Gravity, GRAVITY_ALIASES)


def read_crop(value: Any, field: str, edge: int) -> Crop:
    obj = read_object(value, field, ("x", "y", "width", "height"))
    for key in ("x", "y", "width", "height"):
        if key not in obj:
            raise bad(join(field, key), f"'{field}' needs x, y, width and height.")
    return Crop(
        read_int(obj["x"], join(field, "x"), lo=0, hi=edge),
        read_int(obj["y"], join(field, "y"), lo=0, hi=edge),
        read_int(obj["width"], join(field, "width"), lo=1, hi=edge),
        read_int(obj["height"], join(field, "height"), lo=1, hi=edge),
    )


def read_crop_text(value: str, field: str, edge: int) -> Crop:
    """`X:Y:WIDTH:HEIGHT` (or with commas), as query parameters and URLs write a crop."""
    parts = re.split(r"[:,]", value)
    if len(parts) != 4:
        raise bad(field, f"'{field}' must look like X:Y:WIDTH:HEIGHT.")
    names = ("x", "y", "width", "height")
    return read_crop(
        dict(
            zip(
                names, [read_int(v, field, lo=0, hi=edge, text_ok=True) for v in parts], strict=True
            )
        ),
        field,
        edge,
    )


def read_compress(value: Any, field: str, into: dict[str, Any], text_ok: bool) -> None:
    """`true` lowers the default quality; a number N is quality N."""
    if isinstance(value, bool) or (text_ok and value in TRUE_WORDS | FALSE_WORDS):
        into["compress"] = read_bool(value, field, text_ok=text_ok)
        return
    quality = read_int(value, field, lo=1, hi=100, text_ok=text_ok)
    if into.setdefault("quality", quality) != quality:
        raise nonsense(field, f"'{field}' and quality disagree; give one of them.")


def finish(values: dict[str, Any], field: str) -> TransformSpec:
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
        raise nonsense(field, "The transformation has no operation to apply.")
    return spec
