"""The FaceDetector port over OpenCV's Haar cascade: faces found where they are, in pixels of
the upright source, and none where there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelpress.adapters.faces_haar import HaarFaceDetector
from pixelpress.domain.errors import InvalidInput
from pixelpress.domain.models import ImageLimits
from tests.faces import ASTRONAUT, ASTRONAUT_FACE, face_at, overlap, portrait_on
from tests.images import photo, quarters


@pytest.fixture(scope="module")
def detector() -> HaarFaceDetector:
    return HaarFaceDetector(ImageLimits(), threads=1)


async def test_finds_the_face_of_the_portrait(detector: HaarFaceDetector) -> None:
    for source in (ASTRONAUT, ASTRONAUT.read_bytes()):  # a file, or bytes in memory
        faces = await detector.detect(source)
        assert (faces.width, faces.height) == (512, 512)
        assert len(faces.boxes) == 1
        assert overlap(faces.boxes[0], ASTRONAUT_FACE) > 0.8


@pytest.mark.parametrize(
    ("width", "height", "x", "y"),
    [(1600, 600, 1088, 44), (1600, 600, 0, 44), (700, 1400, 94, 888), (2048, 700, 0, 94)],
)
async def test_finds_a_face_off_centre_in_a_larger_picture(
    detector: HaarFaceDetector, width: int, height: int, x: int, y: int
) -> None:
    faces = await detector.detect(portrait_on(width, height, x, y))
    assert (faces.width, faces.height) == (width, height)  # in the source's pixels
    assert [overlap(box, face_at(x, y)) > 0.7 for box in faces.boxes] == [True]


async def test_boxes_are_in_upright_pixels(detector: HaarFaceDetector) -> None:
    faces = await detector.detect(portrait_on(1400, 700, 800, 100, orientation=6))
    assert (faces.width, faces.height) == (1400, 700)
    assert [overlap(box, face_at(800, 100)) > 0.7 for box in faces.boxes] == [True]


@pytest.mark.parametrize("source", [photo(1200, 800), quarters()])
async def test_finds_nothing_in_a_picture_without_faces(
    detector: HaarFaceDetector, source: bytes
) -> None:
    assert (await detector.detect(source)).boxes == ()


async def test_refuses_what_is_no_image(detector: HaarFaceDetector, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        await detector.detect(b"not an image at all")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(ASTRONAUT.read_bytes()[:4000])
    with pytest.raises(InvalidInput):
        await detector.detect(cut)
