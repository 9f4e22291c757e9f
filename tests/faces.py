"""A picture with a face at a known place, for the face detector and face-aware crops: the
bundled astronaut portrait (tests/pictures/README.md), alone or placed on a larger canvas."""

from __future__ import annotations

from pathlib import Path

import pyvips

from pixelpress.domain.faces import Box

ASTRONAUT = Path(__file__).parent / "pictures" / "astronaut.jpg"
ASTRONAUT_FACE = Box(176, 66, 95, 95)
"""Where the face is in the 512 x 512 portrait."""


def portrait_on(width: int, height: int, x: int, y: int, *, orientation: int = 1) -> bytes:
    """A `width` x `height` JPEG, flat green but for the portrait at `x`, `y`. With
    `orientation` 6, the pixels are stored turned a quarter left, and EXIF turns them back."""
    portrait = pyvips.Image.new_from_file(str(ASTRONAUT))
    canvas = pyvips.Image.black(width, height).new_from_image([40, 90, 60]).cast("uchar")
    image = canvas.copy(interpretation="srgb").insert(portrait, x, y)
    if orientation == 6:
        image = image.rot270().copy()
        image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    return bytes(image.write_to_buffer(".jpg", Q=85))


def face_at(x: int, y: int) -> Box:
    """The portrait's face, with the portrait placed at `x`, `y`."""
    return Box(ASTRONAUT_FACE.x + x, ASTRONAUT_FACE.y + y, ASTRONAUT_FACE.width,
               ASTRONAUT_FACE.height)  # fmt: skip


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes: 1 for the same box, 0 for disjoint ones."""
    width = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    height = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    common = max(0, width) * max(0, height)
    return common / (a.area + b.area - common)
