"""The fake image processor's own promises to use-case tests: what it records, failing when
told, and bytes that are the same for the same work. (What it shares with the real engine is
checked by the processor contract, tests/contract/test_processor.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelpress.domain.errors import (
    InvalidInput,
    TooLarge,
    Unavailable,
    Unprocessable,
    UnsupportedMedia,
)
from pixelpress.domain.models import ImageFormat, ImageLimits
from pixelpress.domain.spec import parse_spec
from tests.fakes import FakeImageProcessor, fake_image, read_fake
from tests.images import write

SMALL = parse_spec({"resize": "50x"})
OUTSIDE = parse_spec({"crop": {"x": 150, "y": 0, "width": 100, "height": 10}})
GREY = parse_spec({"filters": {"grayscale": True}})


async def test_it_records_every_spec_it_is_asked_to_render() -> None:
    processor = FakeImageProcessor()
    source = fake_image(200, 100)
    await processor.render(source, SMALL)
    with pytest.raises(Unprocessable):
        await processor.render(source, OUTSIDE)
    await processor.render(source, GREY)
    assert processor.rendered == [SMALL, OUTSIDE, GREY]


async def test_it_fails_the_next_calls_it_is_told_to(tmp_path: Path) -> None:
    processor = FakeImageProcessor()
    source = fake_image(200, 100)
    down = Unavailable("The renderer is down.", dependency="renderer")
    refused = InvalidInput("Unreadable.", code="invalid_image")
    processor.fail_next(down, times=2, call="render")
    processor.fail_next(refused)
    upload = write(tmp_path, source)
    with pytest.raises(InvalidInput) as first:  # the render-only failures let ingest pass by
        await processor.ingest(upload)
    assert first.value is refused
    assert (await processor.ingest(upload)).info.width == 200
    await processor.placeholder(source)
    for _ in range(2):
        with pytest.raises(Unavailable) as caught:
            await processor.render(source, SMALL)
        assert caught.value is down
    assert (await processor.render(source, SMALL)).width == 50
    assert len(processor.rendered) == 3


async def test_the_same_work_gives_the_same_bytes_and_outputs_are_sources() -> None:
    processor = FakeImageProcessor()
    source = fake_image(200, 100, ImageFormat.JPEG, colour="#102030")
    first, again = await processor.render(source, SMALL), await processor.render(source, SMALL)
    assert first == again
    other = await processor.render(source, GREY)
    assert other.data != first.data
    assert (other.width, other.height) == (200, 100)
    # An output (a rendition, say) renders again, keeping its colour.
    smaller = await processor.render(first.data, parse_spec({"resize": "10x"}))
    assert (smaller.width, smaller.height) == (10, 5)
    assert (await processor.placeholder(smaller.data)).dominant_color == "#102030"


async def test_it_honours_the_limits_it_is_given(tmp_path: Path) -> None:
    processor = FakeImageProcessor(ImageLimits(max_edge=300, max_bytes=1_000))
    with pytest.raises(Unprocessable) as output:
        await processor.render(fake_image(200, 100), parse_spec({"resize": "400x"}))
    assert output.value.code == "edge_too_long"
    with pytest.raises(TooLarge) as upload:
        await processor.ingest(write(tmp_path, fake_image(301, 10)))
    assert upload.value.code == "edge_too_long"
    with pytest.raises(TooLarge) as size:
        await processor.ingest(write(tmp_path, fake_image(10, 10) + b" " * 1_000))
    assert size.value.code == "file_too_large"


def test_garbled_fakes_are_corrupt_and_other_types_unsupported() -> None:
    whole = fake_image(20, 10)
    garbled = [
        whole[:-5],
        whole.replace(b'"width": 20', b'"width": 0'),
        whole.replace(b'"width": 20', b'"width": true'),
        whole.replace(b'"colour": "#808080"', b'"colour": "grey"'),
        whole.replace(b'"frames": 1', b'"frames": 1, "extra": 1'),
        whole.replace(b'"format": "png"', b'"format": ["png"]'),
    ]
    for data in garbled:
        with pytest.raises(InvalidInput) as caught:
            read_fake(data)
        assert caught.value.code == "invalid_image", data
    for data in (whole.replace(b'"png"', b'"heic"'), b"\x89PNG\r\n\x1a\n"):
        with pytest.raises(UnsupportedMedia) as refused:
            read_fake(data)
        assert refused.value.code == "unsupported_media_type"
