"""The faces of an image, found once per image content and kept in the cache (under the image's
prefix, so that replacing or deleting the image purges them), for every render that asks for
gravity `face` or `faces`, in the API and in workers alike."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from pixelpress.domain.faces import Faces, Focus, wants_faces
from pixelpress.domain.keys import faces_key
from pixelpress.domain.models import Image
from pixelpress.domain.spec import TransformSpec
from pixelpress.ports import Cache, FaceDetector, ObjectStorage

log = logging.getLogger(__name__)

FACES_TTL = 30 * 24 * 3600
"""A few bytes an image: kept long, since finding them costs a decode and a search."""


@dataclass(frozen=True)
class FaceFinder:
    detector: FaceDetector
    cache: Cache
    storage: ObjectStorage

    async def faces(self, image: Image, source: bytes | Path | None = None) -> Faces:
        """The faces of `image` in pixels of its upright original, largest first. `source`:
        the picture at hand to search if need be (the original or a rendition of it); without
        one, the original is read."""
        key = faces_key(image.id, image.content_hash)
        cached = await self.cache.get(key)
        if cached is not None:
            try:
                return Faces.load(cached).scaled_to(image.width, image.height)
            except (ValueError, TypeError, KeyError):
                log.warning("dropping unreadable cached faces of image %s", image.id)
        if source is None:
            source = await self.storage.get(image.storage_key)
        found = await self.detector.detect(source)
        faces = found.scaled_to(image.width, image.height)
        await self.cache.set(key, faces.dump(), ttl=FACES_TTL)
        return faces


async def focus_for(
    image: Image, spec: TransformSpec, source: bytes | Path, finder: FaceFinder | None
) -> Focus | None:
    """Where a face-aware cover crop of `spec` centres, in `image` rendered from `source`; None
    when the spec asks for no faces, or none was found (the crop is then cut as `auto`)."""
    if finder is None or not wants_faces(spec) or spec.resize is None:
        return None
    faces = await finder.faces(image, source)
    return faces.focus(spec.resize.gravity)
