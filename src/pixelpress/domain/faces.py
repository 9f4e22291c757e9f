"""Faces in a picture, and where a face-aware cover crop cuts (gravity `face` and `faces`).

A detector reports `Faces`: boxes in pixels of the upright picture it looked at, with that
picture's size, largest first. They are kept in the original's pixels, and handed to the image
engine as a `Focus`: the region to keep, as fractions of the picture, so that it applies alike
to the original and to any smaller rendition of it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pixelpress.domain.spec.types import Crop, Fit, Gravity, TransformSpec

FACE_GRAVITIES = frozenset({Gravity.FACE, Gravity.FACES})


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels: `x`, `y` its top-left corner."""

    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height

    def scaled(self, by_x: float, by_y: float) -> Box:
        left, top = round(self.x * by_x), round(self.y * by_y)
        right, bottom = round((self.x + self.width) * by_x), round((self.y + self.height) * by_y)
        return Box(left, top, max(1, right - left), max(1, bottom - top))


@dataclass(frozen=True)
class Focus:
    """A region to keep, as fractions (0..1) of a picture's width and height."""

    left: float
    top: float
    right: float
    bottom: float

    def within(self, crop: Crop | None, width: int, height: int) -> Focus | None:
        """The region as fractions of `crop` (pixels of a `width` x `height` picture) instead;
        None when it lies wholly outside the crop. Without a crop, itself."""
        if crop is None:
            return self
        left = max(self.left * width, crop.x)
        top = max(self.top * height, crop.y)
        right = min(self.right * width, crop.x + crop.width)
        bottom = min(self.bottom * height, crop.y + crop.height)
        if right <= left or bottom <= top:
            return None
        return Focus(
            (left - crop.x) / crop.width,
            (top - crop.y) / crop.height,
            (right - crop.x) / crop.width,
            (bottom - crop.y) / crop.height,
        )


@dataclass(frozen=True)
class Faces:
    """The faces found in an upright `width` x `height` picture, largest first."""

    width: int
    height: int
    boxes: tuple[Box, ...] = ()

    def scaled_to(self, width: int, height: int) -> Faces:
        """The same faces in pixels of the same picture at `width` x `height`."""
        if (width, height) == (self.width, self.height):
            return self
        by_x, by_y = width / self.width, height / self.height
        return Faces(width, height, tuple(b.scaled(by_x, by_y) for b in self.boxes))

    def focus(self, gravity: Gravity) -> Focus | None:
        """What `gravity` keeps: the largest face (`face`) or the box around all (`faces`);
        None without faces, or for any other gravity."""
        if not self.boxes or gravity not in FACE_GRAVITIES:
            return None
        chosen = self.boxes[:1] if gravity is Gravity.FACE else self.boxes
        left = min(b.x for b in chosen)
        top = min(b.y for b in chosen)
        right = max(b.x + b.width for b in chosen)
        bottom = max(b.y + b.height for b in chosen)
        return Focus(left / self.width, top / self.height, right / self.width, bottom / self.height)

    def dump(self) -> bytes:
        boxes = [[b.x, b.y, b.width, b.height] for b in self.boxes]
        return json.dumps({"width": self.width, "height": self.height, "boxes": boxes}).encode()

    @classmethod
    def load(cls, data: bytes) -> Faces:
        """Raises ValueError (or TypeError, KeyError) for anything `dump` did not write."""
        record = json.loads(data)
        boxes = tuple(Box(*(int(n) for n in box)) for box in record["boxes"])
        return cls(int(record["width"]), int(record["height"]), boxes)


def wants_faces(spec: TransformSpec) -> bool:
    """Whether rendering `spec` needs the faces of its image: a cover crop with face gravity."""
    resize = spec.resize
    return resize is not None and resize.fit is Fit.COVER and resize.gravity in FACE_GRAVITIES


def cover_offsets(
    focus: Focus, scaled_width: int, scaled_height: int, width: int, height: int
) -> tuple[int, int]:
    """Where a `width` x `height` cover crop of a picture scaled to `scaled_width` x
    `scaled_height` starts, to be centred on `focus` and stay inside the picture. A region
    that fits the crop lies wholly inside it."""

    def start(low: float, high: float, scaled: int, size: int) -> int:
        centre = (low + high) / 2 * scaled
        return max(0, min(scaled - size, round(centre - size / 2)))

    return (
        start(focus.left, focus.right, scaled_width, width),
        start(focus.top, focus.bottom, scaled_height, height),
    )
