"""What is particular to the pyvips engine: telling types from bytes, BigTIFF, the cuts and fake
headers of each format that libvips alone would not refuse, decodes that must not stream, and
libvips' logging. What every engine promises is in tests/contract/test_processor*.py."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import pyvips

from pixelpress.adapters.vips.ingest import sniff
from pixelpress.adapters.vips.processor import VipsImageProcessor
from pixelpress.domain.errors import InvalidInput, TooLarge
from pixelpress.domain.models import ImageFormat, ImageLimits
from pixelpress.domain.spec import parse_spec
from tests.images import (
    animation,
    bigtiff_declaring,
    is_red,
    load,
    photo,
    rgb,
    with_exif,
    write,
)


@pytest.fixture
def processor() -> VipsImageProcessor:
    return VipsImageProcessor(ImageLimits(), threads=2)


def test_sniff_tells_types_from_bytes() -> None:
    assert sniff(photo(8, 8, ".avif")) is ImageFormat.AVIF
    assert sniff(photo(8, 8, ".tif")) is ImageFormat.TIFF
    assert sniff(photo(8, 8, ".tif", bigtiff=True)) is ImageFormat.TIFF
    assert sniff(b"II+\x00") is sniff(b"MM\x00+") is ImageFormat.TIFF
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic") is None


async def test_bigtiff_is_read_within_the_limits(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    data = photo(64, 48, ".tif", bigtiff=True, keep="none")
    assert data[:4] == b"II+\x00"
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.info.format is ImageFormat.TIFF
    assert (ingested.info.width, ingested.info.height, ingested.info.frames) == (64, 48, 1)
    out = await processor.render(data, parse_spec({"format": "png"}))
    image = load(out.data)
    assert is_red(rgb(image, 2, 2))  # the gradient's marked corner, where it was
    assert (image - load(photo(64, 48, ".png"))).abs().max() == 0  # every pixel as it was made
    # Its header is checked like any other before a pixel is decoded.
    for big_endian in (False, True):
        bomb = bigtiff_declaring(100_000, 100_000, big_endian=big_endian)
        with pytest.raises(TooLarge) as caught:
            await processor.ingest(write(tmp_path, bomb))
        assert caught.value.details["limit"] == ImageLimits().max_edge
        assert caught.value.details["actual"] == 100_000


async def test_ingest_refuses_each_formats_cuts_and_fake_headers(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    cases = [
        photo(300, 300)[:700],  # truncated JPEG
        photo(300, 300, ".png")[:2000],  # truncated PNG
        animation([30, 130, 230, 60])[:-40],  # last frame cut: giflib reads fewer frames
        animation([30, 130, 230, 60])[:-1],  # trailer cut
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # magic, no PNG
        b"II*\x00" + b"\x00" * 100,  # TIFF magic, no TIFF
        b"MM\x00+" + b"\xff" * 100,  # BigTIFF magic, no TIFF
        bigtiff_declaring(40, 30)[:-12],  # its IFD cut short
    ]
    for data in cases:
        with pytest.raises(InvalidInput) as caught:
            await processor.ingest(write(tmp_path, data))
        assert caught.value.code == "invalid_image", data[:20]


async def test_render_refuses_a_cut_source(processor: VipsImageProcessor) -> None:
    for source in (b"\xff\xd8\xff not really", photo(300, 300)[:900]):
        with pytest.raises(InvalidInput) as caught:
            await processor.render(source, parse_spec({"rotate": 90}))
        assert caught.value.code == "invalid_image"


async def test_ingest_turns_an_image_too_big_to_stream(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    # A turn needs the whole picture: a streaming decode would fail with an out-of-order read.
    data = with_exif(photo(1600, 1200), ".jpg", orientation=8, gps=False)
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.cleaned is not None
    clean = load(ingested.cleaned)
    assert (clean.width, clean.height) == (1200, 1600)
    assert is_red(rgb(clean, 5, 1595))  # orientation 8: the top-left mark is now bottom-left


async def test_ingest_keeps_lossless_webp_lossless(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    data = with_exif(photo(64, 64, ".png"), ".webp", lossless=True)
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.cleaned is not None
    assert b"VP8L" in ingested.cleaned[:64]
    assert (load(ingested.cleaned) - load(data)).abs().max() == 0


async def test_libvips_says_only_what_matters(
    processor: VipsImageProcessor, caplog: pytest.LogCaptureFixture
) -> None:
    # libvips' INFO chatter (ten lines a render) never reaches Python; its warnings do.
    caplog.set_level(logging.DEBUG, logger="pyvips")
    await processor.render(
        photo(800, 600), parse_spec({"resize": {"width": 100}, "format": "webp"})
    )
    assert [r for r in caplog.records if r.name == "pyvips"] == []
    truncated = photo(800, 600)[:4000]
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_buffer(truncated, "", fail_on="truncated").avg()
    assert any(r.name == "pyvips" and r.levelno == logging.WARNING for r in caplog.records)
