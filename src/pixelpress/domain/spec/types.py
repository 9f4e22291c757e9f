"""The transformation spec's types: its values, its canonical form and its hash (see
`domain.spec`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

MAX_TEXT = 200
MAX_REF = 255
MIN_BLUR = 0.1
MAX_BLUR = 100.0
DEFAULT_BLUR = 2.0
DEFAULT_OPACITY = 0.5


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

# Quality when none is given, and with `compress: true`. PNG is lossless unless a quality asks for
# a quantised palette; GIF is always a palette and has no quality.
DEFAULT_QUALITY: dict[OutputFormat, int | None] = {
    OutputFormat.JPEG: 82,
    OutputFormat.WEBP: 80,
    OutputFormat.AVIF: 60,
    OutputFormat.PNG: None,
    OutputFormat.GIF: None,
}
COMPRESSED_QUALITY: dict[OutputFormat, int | None] = {
    OutputFormat.JPEG: 60,
    OutputFormat.WEBP: 60,
    OutputFormat.AVIF: 45,
    OutputFormat.PNG: 60,
    OutputFormat.GIF: None,
}


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


class Gravity(StrEnum):
    """Which part of the scaled image a cover crop keeps."""

    CENTER = "center"
    TOP = "top"
    BOTTOM = "bottom"
    LEFT = "left"
    RIGHT = "right"
    TOP_LEFT = "top-left"
    TOP_RIGHT = "top-right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM_RIGHT = "bottom-right"
    AUTO = "auto"
    """The most interesting part (libvips' attention: skin tones, saturation, edges)."""
    FACE = "face"
    """Centred on the largest face found (see `domain.faces`); without one, as `auto`."""
    FACES = "faces"
    """Centred on the box around every face found; without one, as `auto`."""


# Compass names (Cloudinary's, imgproxy's) for the same places.
GRAVITY_ALIASES = {
    "centre": "center",
    "north": "top",
    "south": "bottom",
    "west": "left",
    "east": "right",
    "north-west": "top-left",
    "north-east": "top-right",
    "south-west": "bottom-left",
    "south-east": "bottom-right",
    "smart": "auto",
}


@dataclass(frozen=True)
class Resize:
    width: int | None
    height: int | None
    fit: Fit = Fit.COVER
    """Only meaningful with both edges; with one edge the parsers leave it at cover."""
    gravity: Gravity = Gravity.CENTER
    """Only meaningful for a cover crop (both edges); elsewhere the parsers leave it at center."""


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
    """An image reference as the user gave it (id or filename) until resolved; then the id."""
    resolved: bool = False
    position: Position = Position.BOTTOM_RIGHT
    opacity: float = DEFAULT_OPACITY


@dataclass(frozen=True)
class TransformSpec:
    """One transformation, already validated and normalised by the parsers (`domain.spec`)."""

    resize: Resize | None = None
    crop: Crop | None = None
    rotate: float = 0
    """Degrees clockwise in [0, 360)."""
    flip: bool = False
    mirror: bool = False
    grayscale: bool = False
    sepia: bool = False
    blur: float | None = None
    sharpen: bool = False
    watermark: Watermark | None = None
    format: OutputFormat | None = None
    quality: int | None = None
    compress: bool = False
    """Only when no quality is given: lower the format's default quality."""

    def canonical(self) -> dict[str, Any]:
        """Only the operations that do something, in the order they apply; an operation present
        lists all its parameters; numbers normalised (integral ones as ints)."""
        out: dict[str, Any] = {}
        if self.crop:
            c = self.crop
            out["crop"] = {"x": c.x, "y": c.y, "width": c.width, "height": c.height}
        if self.resize:
            r = self.resize
            size = {"width": r.width, "height": r.height}
            out["resize"] = {k: v for k, v in size.items() if v is not None}
            if r.width is not None and r.height is not None:
                out["resize"]["fit"] = str(r.fit)
            if r.gravity is not Gravity.CENTER:  # the default stays out: old hashes hold
                out["resize"]["gravity"] = str(r.gravity)
        if self.rotate:
            out["rotate"] = number(self.rotate)
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
            filters["blur"] = number(self.blur)
        if self.sharpen:
            filters["sharpen"] = True
        if filters:
            out["filters"] = filters
        if self.watermark:
            w = self.watermark
            mark: dict[str, Any] = {"text": w.text} if w.text is not None else {"image": w.image}
            mark["position"] = str(w.position)
            mark["opacity"] = number(w.opacity)
            out["watermark"] = mark
        if self.format is not None:
            out["format"] = str(self.format)
        if self.quality is not None:
            out["quality"] = self.quality
        if self.compress:
            out["compress"] = True
        return out

    @cached_property
    def hash(self) -> str:
        """32 hex digits of the SHA-256 of the canonical form as compact, key-sorted JSON.
        Computed once: the spec is frozen."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

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
        """The spec with its watermark reference resolved to `image_id` (hash it after this)."""
        if self.watermark is None or self.watermark.image is None:
            raise ValueError("This spec has no image watermark to resolve.")
        return replace(self, watermark=replace(self.watermark, image=image_id, resolved=True))

    def output_format(self, source_format: str) -> OutputFormat:
        """The format asked for; else the source's when it is an output format; else JPEG."""
        if self.format is not None:
            return self.format
        name = source_format.lower()
        try:
            return OutputFormat(FORMAT_ALIASES.get(name, name))
        except ValueError:
            return OutputFormat.JPEG

    def quality_for(self, fmt: OutputFormat) -> int | None:
        """The encoder quality for `fmt`; None means lossless (PNG) or not applicable (GIF)."""
        if fmt is OutputFormat.GIF:
            return None
        if self.quality is not None:
            return self.quality
        return (COMPRESSED_QUALITY if self.compress else DEFAULT_QUALITY)[fmt]


def number(value: float) -> int | float:
    """Rounded to 3 decimals, integral values as ints: 90.0 and 90 hash alike."""
    rounded = round(value, 3)
    return int(rounded) if rounded.is_integer() else rounded
