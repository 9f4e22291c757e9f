"""A synthetic but photographic-looking JPEG: smooth gradients, soft blurred shapes, mid-scale
texture and sensor-like grain, so the encoder and decoder see realistic entropy (a flat gradient
would compress to almost nothing and make every JPEG step look free)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyvips

QUALITY = 90
SHAPE_SCALE = 4


def _upscale(image: Any, width: int, height: int) -> Any:
    return image.resize(width / image.width, vscale=height / image.height, kernel="cubic")


def _low_frequency(width: int, height: int, cell: int, sigma: float, seed: int) -> Any:
    """Smooth random blobs: coarse noise scaled up, then blurred (clouds, out-of-focus light)."""
    small = pyvips.Image.gaussnoise(
        max(2, width // cell), max(2, height // cell), mean=0, sigma=sigma, seed=seed
    )
    # Blurred while small, then scaled up smoothly: the same look as blurring the full size
    # with a huge kernel, in a fraction of the time.
    return _upscale(small.gaussblur(0.8), width, height)


def make_photo(width: int, height: int, seed: int = 7) -> Any:
    """An sRGB uchar image of `width` x `height` pixels, deterministic for a given seed."""
    rng = random.Random(seed)
    # A sky-to-ground gradient with a warm horizon, in three bands.
    xy = pyvips.Image.xyz(width, height)
    y = xy[1] / height
    x = xy[0] / width
    red = y * 110 + x * 40 + 60
    green = y * 60 + (1 - x) * 30 + 80
    blue = (1 - y) * 140 + 60
    image = red.bandjoin([green, blue])

    # Soft shapes: a few dozen discs and boxes in random colours, blurred like out-of-focus
    # objects, laid over the gradient with partial opacity. Drawn at a quarter of the size and
    # scaled up (each draw call copies its canvas; the blur hides the scaling anyway).
    small_w, small_h = width // SHAPE_SCALE, height // SHAPE_SCALE
    shapes = pyvips.Image.black(small_w, small_h, bands=3)
    mask = pyvips.Image.black(small_w, small_h)
    for _ in range(40):
        colour = [rng.randint(20, 235) for _ in range(3)]
        cx, cy = rng.randint(0, small_w), rng.randint(0, small_h)
        size = rng.randint(min(small_w, small_h) // 30, min(small_w, small_h) // 5)
        if rng.random() < 0.5:
            shapes = shapes.draw_circle(colour, cx, cy, size, fill=True)
            mask = mask.draw_circle([255], cx, cy, size, fill=True)
        else:
            w, h = size * 2, rng.randint(size // 2, size * 2)
            shapes = shapes.draw_rect(colour, cx - w // 2, cy - h // 2, w, h, fill=True)
            mask = mask.draw_rect([255], cx - w // 2, cy - h // 2, w, h, fill=True)
    blur = max(2.0, min(width, height) / 400)
    shapes = _upscale(shapes.gaussblur(blur / SHAPE_SCALE), width, height)
    alpha = _upscale(mask.gaussblur(blur * 2 / SHAPE_SCALE), width, height) / 255 * 0.7
    image = image * (1 - alpha) + shapes * alpha

    # Texture at three scales: large blobs (lighting), mid detail (foliage), fine grain.
    image = image + _low_frequency(width, height, max(8, width // 40), 40, seed + 1)
    image = image + pyvips.Image.gaussnoise(
        width, height, mean=0, sigma=14, seed=seed + 2
    ).gaussblur(1.5)
    grain = pyvips.Image.gaussnoise(width, height, mean=0, sigma=6, seed=seed + 3)
    image = image + grain.bandjoin([grain, grain])
    return image.cast("uchar").copy(interpretation="srgb")


def write_photo(path: Path, width: int, height: int, seed: int = 7) -> int:
    """Writes the photo as a baseline JPEG at Q=90 and returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    make_photo(width, height, seed).jpegsave(str(path), Q=QUALITY)
    return path.stat().st_size


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "photo.jpg")
    w, h = (int(v) for v in (sys.argv[2] if len(sys.argv) > 2 else "4000x3000").split("x"))
    print(target, write_photo(target, w, h), "bytes")
