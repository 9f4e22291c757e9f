"""Renditions: after upload, reduced masters of a large original (a pyramid: 2048, 1024 and
512 px on the long edge, high quality) are stored as ordinary variants by one background job.
An output is made from the smallest master that leaves room for a sharp result, so a thumbnail
does not decode 12 megapixels, nor even 3, every time.

Which levels an image gets: the 2048 px master when the image is larger than that (as before
the pyramid); a smaller level when the image is at least twice its size (`LEVEL_MIN_SCALE`):
closer than that, a render from the level saves little over one from the original (which a
JPEG decoder shrinks by 2 while reading), and costs one more file and one more generation of
lossy coding. So a 4000 px photo gets all three; a 1500 px one only the 512 px level; one under
1024 px none. The job makes the largest level from the original and the others from it (a
shrink-on-load read of under 1 MB rather than of the original again)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pixelpress.domain.errors import NotFound
from pixelpress.domain.models import Image, ImageFormat, Variant, VariantStatus
from pixelpress.domain.spec import TransformSpec, parse_spec, resize_geometry
from pixelpress.ports import ObjectStorage, UnitOfWork

RENDITION_EDGE = 2048
RENDITION_QUALITY = 92
LEVEL_MIN_SCALE = 2.0
"""A level below the top one is made when the image's long edge is at least this many times
the level's."""


@dataclass(frozen=True)
class Level:
    edge: int
    """Long edge, px."""
    margin: float
    """How many times the output's size the level must be, on both edges, to serve it."""
    quality: int


LEVELS = (Level(RENDITION_EDGE, 1.0, RENDITION_QUALITY), Level(1024, 1.7, 97), Level(512, 1.2, 97))
"""Margins and qualities measured: SSIM >= 0.98 of JPEG q80 outputs against renders from the
original, on grainy photos of 3000 and 4000 px (one of 2400 px, barely larger than its 2048 px
master, gave 0.979 at the 512 px level's limit): a second resample at a small ratio softens
fine texture first; at Q=92 the small levels needed 2x. Q=97 doubles the small levels' bytes
(90 kB at 512 px) and costs 10 % more to render from the 512 px one. The 2048 px master serves
whatever fits in it, as it always has (its spec, so its stored files, are unchanged)."""


def levels_of(image: Image) -> tuple[Level, ...]:
    """The pyramid levels `image` gets, largest first (none for animations)."""
    if image.frames != 1:
        return ()
    edge = max(image.width, image.height)
    top, *smaller = LEVELS
    return tuple(
        [top] * (edge > top.edge) + [lv for lv in smaller if edge >= lv.edge * LEVEL_MIN_SCALE]
    )


def needs_rendition(image: Image) -> bool:
    return bool(levels_of(image))


def level_spec(image: Image, level: Level = LEVELS[0]) -> TransformSpec:
    # JPEG keeps shrink-on-load for what is made from it; other sources may carry alpha.
    fmt = "jpeg" if image.format is ImageFormat.JPEG else "webp"
    return _level_spec(level.edge, level.quality, fmt)


def rendition_spec(image: Image) -> TransformSpec:
    """The spec of the job queued at upload: the image's largest level (the one made from the
    original; the others are made from it in the same job)."""
    return level_spec(image, levels_of(image)[0])


@lru_cache(maxsize=8)
def _level_spec(edge: int, quality: int, fmt: str) -> TransformSpec:
    """Per level and output format, built once: asked for on every render and every listing."""
    return parse_spec(
        {
            "resize": {"width": edge, "height": edge, "fit": "inside"},
            "format": fmt,
            "quality": quality,
        }
    )


def level_hashes(image: Image) -> list[str]:
    """The spec hashes of `image`'s levels, largest first (empty when it gets none)."""
    return [level_spec(image, level).hash for level in levels_of(image)]


def is_level(image: Image, spec_hash: str) -> bool:
    """Whether `spec_hash` is one of `image`'s renditions: Pixelpress's own, never a preset's."""
    return spec_hash in level_hashes(image)


def rendition_hash(image: Image) -> str | None:
    """The spec hash of the job queued at upload, None when the image gets no rendition."""
    return rendition_spec(image).hash if needs_rendition(image) else None


def smaller_levels(image: Image) -> list[TransformSpec]:
    """The specs the rendition job makes from the largest level once it is rendered."""
    return [level_spec(image, level) for level in levels_of(image)[1:]]


def fits_level(image: Image, spec: TransformSpec, level: Level, width: int, height: int) -> bool:
    """Whether `spec`'s output can be made from a `width` x `height` rendition of `image`
    (at `level`) with the room that level needs for a sharp result."""
    if spec.crop is not None or spec.resize is None or spec.watermark_image_id is not None:
        return False
    if spec.hash in level_hashes(image):
        return False  # a level is made from the original (or from the level above it)
    scaled = resize_geometry(spec.resize, image.width, image.height)
    return (
        scaled.scaled_width * level.margin <= width
        and scaled.scaled_height * level.margin <= height
    )


async def find_levels(uow: UnitOfWork, image: Image) -> list[Variant]:
    wanted = level_hashes(image)
    return list((await uow.variants.find_many(image.id, wanted)).values()) if wanted else []


def pick_level(image: Image, spec: TransformSpec, levels: Iterable[Variant]) -> Variant | None:
    """The smallest ready level that serves `spec` sharply, None when none does."""
    by_hash = {v.spec_hash: v for v in levels}
    for level in reversed(levels_of(image)):
        found = by_hash.get(level_spec(image, level).hash)
        if (
            found is not None
            and found.status is VariantStatus.READY
            and found.width is not None
            and found.height is not None
            and fits_level(image, spec, level, found.width, found.height)
        ):
            return found
    return None


async def source_for(
    image: Image, spec: TransformSpec, levels: Sequence[Variant], *, storage: ObjectStorage
) -> bytes | Path:
    """What to render `spec` from: the smallest of the ready `levels` (found by the caller,
    with what else it reads) that serves it, else the original; a local file when the store
    keeps files (libvips reads only what it needs)."""
    level = pick_level(image, spec, levels)
    if level is not None:
        try:
            return await _read(storage, level.storage_key)
        except NotFound:  # deleted under us: the original serves, only slower
            pass
    return await _read(storage, image.storage_key)


async def _read(storage: ObjectStorage, key: str) -> bytes | Path:
    """A local file as its path (libvips reads it with no copy), anything else as bytes."""
    stored = await storage.read(key)
    if stored.path is not None:
        return stored.path
    if stored.data is not None:
        return stored.data
    return await storage.get(key)
