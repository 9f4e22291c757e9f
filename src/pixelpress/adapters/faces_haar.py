"""FaceDetector over OpenCV's Haar cascade for frontal faces, as opencv-python-headless ships it
(`cv2.data.haarcascades`): nothing is downloaded, ever.

The picture is read as the image engine reads it (its own type's loader, the declared size
checked first), shrunk on load to a small grey copy by libvips, and searched there, in a
bounded thread pool: OpenCV releases the GIL while it searches."""

from __future__ import annotations

import threading
from functools import cache, partial
from pathlib import Path
from typing import Any

import anyio
import pyvips

from pixelpress.adapters.vips.ingest import check_header, head, open_as, sniff
from pixelpress.adapters.vips.pixels import srgb
from pixelpress.adapters.vips.rules import corrupt
from pixelpress.domain.faces import Box, Faces
from pixelpress.domain.models import ImageLimits

CASCADE = "haarcascade_frontalface_default.xml"
EDGE = 512
"""The long edge of the copy searched."""
MIN_FACE = 20
"""Pixels of the copy, about a 25th of its long edge."""
SCALE_STEP = 1.1
NEIGHBOURS = 5
"""Overlapping hits a face needs: fewer finds more faces, and more that are not."""


@cache
def _opencv() -> Any:
    """OpenCV, imported at the first search rather than at start-up: with numpy it brings some
    40 MB of libraries into memory, which a process that is never asked for a face need not
    carry."""
    import cv2
    import cv2.data

    # Our pool runs one search per thread; OpenCV's own pool would only contend with it.
    cv2.setNumThreads(1)
    return cv2


class HaarFaceDetector:
    def __init__(self, limits: ImageLimits, *, threads: int, edge: int = EDGE) -> None:
        self.limits = limits
        self._limiter = anyio.CapacityLimiter(threads)
        self._edge = edge
        self._local = threading.local()  # a classifier is not to be shared across threads

    async def detect(self, source: bytes | Path) -> Faces:
        work = partial(self._detect, source)
        return await anyio.to_thread.run_sync(work, limiter=self._limiter)

    def _classifier(self) -> Any:
        found = getattr(self._local, "classifier", None)
        if found is None:
            cv2 = _opencv()
            found = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / CASCADE))
            if found.empty():  # pragma: no cover - a broken OpenCV install
                raise RuntimeError(f"OpenCV's {CASCADE} could not be loaded")
            self._local.classifier = found
        return found

    def _detect(self, source: bytes | Path) -> Faces:
        try:
            grey, size = self._small_grey(source)
        except pyvips.Error as exc:
            raise corrupt() from exc
        small_height, small_width = grey.shape
        found = self._classifier().detectMultiScale(
            grey,  # as it is: equalising a picture with a flat background hides its faces
            scaleFactor=SCALE_STEP,
            minNeighbors=NEIGHBOURS,
            minSize=(MIN_FACE, MIN_FACE),
        )
        boxes = sorted(
            (Box(int(x), int(y), int(w), int(h)) for x, y, w, h in found),
            key=lambda b: (-b.area, b.y, b.x),
        )
        return Faces(small_width, small_height, tuple(boxes)).scaled_to(*size)

    def _small_grey(self, source: bytes | Path) -> tuple[Any, tuple[int, int]]:
        """The upright picture, at most `edge` pixels on its long edge, as 8-bit grey rows;
        and the upright picture's own size."""
        fmt = sniff(head(source))
        if fmt is None:
            raise corrupt()
        width, height, _ = check_header(open_as(source, fmt), fmt, self.limits)
        options = {"height": self._edge, "size": "down", "fail_on": "truncated"}
        if isinstance(source, Path):
            small = pyvips.Image.thumbnail(str(source), self._edge, **options)
        else:
            small = pyvips.Image.thumbnail_buffer(source, self._edge, **options)
        grey = srgb(small).colourspace("b-w")[0].cast("uchar")
        import numpy as np  # with OpenCV, at the first search

        pixels = np.frombuffer(grey.write_to_memory(), dtype=np.uint8)
        return pixels.reshape(grey.height, grey.width), (width, height)
