"""The faces of an image, found once per image content and kept in the cache (under the image's
prefix, so that replacing or deleting the image purges them), for every render that asks for
gravity `face` or `faces`, in the API and in workers alike."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from pixelpress.domain.faces import Faces, Focus, wants_faces
from pixelpress.domain.keys import faces_key, faces_lock_key
from pixelpress.domain.models import Image
from pixelpress.domain.spec import TransformSpec
from pixelpress.ports import Cache, FaceDetector, ObjectStorage

log = logging.getLogger(__name__)

FACES_TTL = 30 * 24 * 3600
"""A few bytes an image: kept long, since finding them costs a decode and a search."""
SEARCH_SECONDS = 30
"""How long others wait for one search of an image (a small copy: well under a second)."""


@dataclass(frozen=True)
class FaceFinder:
    detector: FaceDetector
    cache: Cache
    storage: ObjectStorage

    async def faces(self, image: Image, source: bytes | Path | None = None) -> Faces:
        """The faces of `image` in pixels of its upright original, largest first. `source`:
        the picture at hand to search if need be (the original or a rendition of it); without
        one, the original is read. Concurrent calls (in any process) search it once."""
        key = faces_key(image.id, image.content_hash)
        if (found := await self._cached(key, image)) is not None:
            return found
        lock = faces_lock_key(image.id, image.content_hash)
        if not await self.cache.add(lock, b"1", ttl=SEARCH_SECONDS):
            # Someone else is searching these bytes: take their result (or, should they
            # fail or take too long, search here after all).
            await self.cache.wait_released(lock, within=SEARCH_SECONDS)
            if (found := await self._cached(key, image)) is not None:
                return found
            return await self._search(key, image, source)
        try:
            return await self._search(key, image, source)
        finally:
            await self.cache.release(lock)

    async def _cached(self, key: str, image: Image) -> Faces | None:
        cached = await self.cache.get(key)
        if cached is None:
            return None
        try:
            return Faces.load(cached).scaled_to(image.width, image.height)
        except (ValueError, TypeError, KeyError):
            log.warning("ignoring unreadable cached faces of image %s", image.id)
            return None

    async def _search(self, key: str, image: Image, source: bytes | Path | None) -> Faces:
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
