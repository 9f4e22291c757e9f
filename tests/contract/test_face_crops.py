"""Face-aware cover crops on real pixels: the image engine, given the faces the detector found,
keeps a known face inside the output, at every aspect ratio, wherever the face sits; with no
face it cuts exactly as gravity auto does. Faces in the outputs are found again by the same
detector (a face cut in half is not found)."""

from __future__ import annotations

from typing import Any

import pytest

from pixelpress.adapters.faces_haar import HaarFaceDetector
from pixelpress.adapters.vips.processor import VipsImageProcessor
from pixelpress.domain.faces import Box
from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec import Gravity, parse_spec
from tests.faces import portrait_on
from tests.images import photo


@pytest.fixture(scope="module")
def detector() -> HaarFaceDetector:
    return HaarFaceDetector(ImageLimits(), threads=1)


@pytest.fixture(scope="module")
def processor() -> VipsImageProcessor:
    return VipsImageProcessor(ImageLimits(), threads=1)


def inside(box: Box, width: int, height: int) -> bool:
    return box.x >= 0 and box.y >= 0 and box.x + box.width <= width and box.y + box.height <= height


def cover(width: int, height: int, gravity: str, **more: Any) -> Any:
    return parse_spec({"resize": {"width": width, "height": height, "gravity": gravity}, **more})


CASES = [
    # canvas, where the portrait sits on it, output size
    ((1600, 600), (1088, 44), (400, 400)),  # face far right, square output
    ((1600, 600), (0, 44), (300, 400)),  # face far left, portrait output
    ((700, 1400), (94, 888), (500, 400)),  # face low, landscape output
    ((2048, 700), (1536, 94), (480, 640)),  # face far right, tall output
]


@pytest.mark.parametrize(("canvas", "at", "size"), CASES)
async def test_the_face_stays_inside_the_output(
    detector: HaarFaceDetector,
    processor: VipsImageProcessor,
    canvas: tuple[int, int],
    at: tuple[int, int],
    size: tuple[int, int],
) -> None:
    source = portrait_on(*canvas, *at)
    focus = (await detector.detect(source)).focus(Gravity.FACE)
    assert focus is not None
    out = await processor.render(source, cover(*size, "face"), focus=focus)
    assert (out.width, out.height) == size
    found = await detector.detect(out.data)
    assert len(found.boxes) == 1 and inside(found.boxes[0], *size)
    # The centre of the same picture has no face: the test sees what gravity changed.
    centred = await processor.render(source, cover(*size, "center"))
    assert (await detector.detect(centred.data)).boxes == ()


async def test_crop_before_resize_keeps_the_face(
    detector: HaarFaceDetector, processor: VipsImageProcessor
) -> None:
    source = portrait_on(1600, 600, 1088, 44)
    focus = (await detector.detect(source)).focus(Gravity.FACES)
    spec = cover(300, 300, "faces", crop={"x": 600, "y": 0, "width": 1000, "height": 600})
    out = await processor.render(source, spec, focus=focus)
    found = await detector.detect(out.data)
    assert len(found.boxes) == 1 and inside(found.boxes[0], 300, 300)


async def test_without_a_face_the_crop_is_autos(
    detector: HaarFaceDetector, processor: VipsImageProcessor
) -> None:
    source = photo(1200, 600)
    assert (await detector.detect(source)).focus(Gravity.FACE) is None
    auto = await processor.render(source, cover(300, 300, "auto"))
    for gravity in ("face", "faces"):
        out = await processor.render(source, cover(300, 300, gravity), focus=None)
        assert out.data == auto.data


async def test_a_smaller_master_takes_the_same_focus(
    detector: HaarFaceDetector, processor: VipsImageProcessor
) -> None:
    source = portrait_on(2048, 700, 1536, 94)
    focus = (await detector.detect(source)).focus(Gravity.FACE)
    smaller = await processor.render(source, parse_spec({"resize": "1024x", "quality": 92}))
    out = await processor.render(smaller.data, cover(360, 480, "face"), focus=focus)
    found = await detector.detect(out.data)
    assert len(found.boxes) == 1 and inside(found.boxes[0], 360, 480)
