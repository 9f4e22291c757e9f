"""Renditions: after upload, a reduced master of a large original (at most 2048 px on the long
edge, high quality) is stored as an ordinary variant by a background job. Outputs that fit
inside it are made from it, so a thumbnail does not decode 12 megapixels every time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pixelpress.domain.errors import NotFound
from pixelpress.domain.models import Image, ImageFormat, Variant, VariantStatus
from pixelpress.domain.spec import TransformSpec, parse_spec, resize_geometry
from pixelpress.ports import ObjectStorage, UnitOfWork

RENDITION_EDGE = 2048
RENDITION_QUALITY = 92


def needs_rendition(image: Image) -> bool:
    return max(image.width, image.height) > RENDITION_EDGE and image.frames == 1


def rendition_spec(image: Image) -> TransformSpec:
    # JPEG keeps shrink-on-load for what is made from it; other sources may carry alpha.
    return _rendition_spec("jpeg" if image.format is ImageFormat.JPEG else "webp")


@lru_cache(maxsize=2)
def _rendition_spec(fmt: str) -> TransformSpec:
    """Per output format, built once: it is asked for on every render and every listing."""
    return parse_spec(
        {
            "resize": {"width": RENDITION_EDGE, "height": RENDITION_EDGE, "fit": "inside"},
            "format": fmt,
            "quality": RENDITION_QUALITY,
        }
    )


def fits_rendition(image: Image, spec: TransformSpec, width: int, height: int) -> bool:
    """Whether `spec`'s output can be made from a `width` x `height` rendition of `image`
    without asking it for more pixels than it has."""
    if spec.crop is not None or spec.resize is None or spec.watermark_image_id is not None:
        return False
    if spec == rendition_spec(image):
        return False
    scaled = resize_geometry(spec.resize, image.width, image.height)
    return scaled.scaled_width <= width and scaled.scaled_height <= height


def rendition_hash(image: Image) -> str | None:
    """The spec hash of `image`'s rendition, None when it gets none."""
    return rendition_spec(image).hash if needs_rendition(image) else None


async def find_rendition(uow: UnitOfWork, image: Image) -> Variant | None:
    wanted = rendition_hash(image)
    return None if wanted is None else await uow.variants.find(image.id, wanted)


async def source_for(
    image: Image, spec: TransformSpec, rendition: Variant | None, *, storage: ObjectStorage
) -> bytes | Path:
    """What to render `spec` from: the `rendition` (found by the caller, with what else it
    reads) when it is ready and big enough, else the original; a local file when the store
    keeps files (libvips reads only what it needs)."""
    if (
        rendition is not None
        and rendition.status is VariantStatus.READY
        and rendition.width is not None
        and rendition.height is not None
        and fits_rendition(image, spec, rendition.width, rendition.height)
    ):
        try:
            return await _read(storage, rendition.storage_key)
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
