"""Placeholders: a BlurHash (the `blurhash` package) and the dominant colour, both from a
32-pixel thumbnail, so they cost a few milliseconds whatever the source's size."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import blurhash
import pyvips

from pixelpress.domain.models import Placeholder

THUMBNAIL = 32
COMPONENTS = (4, 3)  # detail across, down: the usual choice for landscape-ish images
BUCKET = 16  # colours grouped by 16 levels a channel when looking for the commonest


def compute(source: bytes | Path) -> Placeholder:
    if isinstance(source, Path):
        thumb = pyvips.Image.thumbnail(str(source), THUMBNAIL)
    else:
        thumb = pyvips.Image.thumbnail_buffer(source, THUMBNAIL)
    if thumb.hasalpha():
        thumb = thumb.flatten(background=[255, 255, 255])
    thumb = thumb.colourspace("srgb").cast("uchar")
    if thumb.bands == 1:
        thumb = thumb.bandjoin([thumb, thumb])
    pixels = bytes(thumb.extract_band(0, n=3).write_to_memory())
    width, height = thumb.width, thumb.height
    triples = [tuple(pixels[i : i + 3]) for i in range(0, len(pixels), 3)]
    rows = [[list(triples[y * width + x]) for x in range(width)] for y in range(height)]
    hash_text = blurhash.encode(rows, components_x=COMPONENTS[0], components_y=COMPONENTS[1])
    buckets = Counter(tuple(c // BUCKET for c in t) for t in triples)
    commonest = buckets.most_common(1)[0][0]
    members = [t for t in triples if tuple(c // BUCKET for c in t) == commonest]
    r, g, b = (round(sum(t[i] for t in members) / len(members)) for i in range(3))
    return Placeholder(blurhash=hash_text, dominant_color=f"#{r:02x}{g:02x}{b:02x}")
