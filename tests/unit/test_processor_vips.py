"""Each operation checked on generated images: dimensions, format (magic bytes) and pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pyvips

from pixelpress.adapters.processor_vips import VipsImageProcessor
from pixelpress.domain.errors import InvalidInput, TooLarge, Unprocessable, UnsupportedMedia
from pixelpress.domain.models import ImageFormat, ImageLimits
from pixelpress.domain.spec import parse_spec, plan
from tests.images import photo, png_declaring

MAGIC = {
    "jpeg": lambda b: b[:3] == b"\xff\xd8\xff",
    "png": lambda b: b[:8] == b"\x89PNG\r\n\x1a\n",
    "webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
    "gif": lambda b: b[:6] in (b"GIF87a", b"GIF89a"),
    "avif": lambda b: b[4:8] == b"ftyp" and b"avif" in b[8:32],
}


@pytest.fixture
def processor() -> VipsImageProcessor:
    return VipsImageProcessor(ImageLimits(), threads=2)


def load(data: bytes) -> Any:
    return pyvips.Image.new_from_buffer(data, "")


def rgb(image: Any, x: int, y: int) -> list[float]:
    return list(image.getpoint(x, y))[:3]


def is_red(p: list[float]) -> bool:
    return p[0] > 200 and p[1] < 60 and p[2] < 60


def grey(width: int = 64, height: int = 64, level: int = 128) -> bytes:
    image = (
        pyvips.Image.black(width, height).new_from_image([level] * 3).copy(interpretation="srgb")
    )
    return bytes(image.cast("uchar").write_to_buffer(".png"))


def edge(width: int = 64, height: int = 64) -> bytes:
    """Dark left half, light right half: a sharp vertical edge in the middle."""
    left = pyvips.Image.black(width // 2, height, bands=3).new_from_image([64, 64, 64])
    right = left.new_from_image([192, 192, 192])
    return bytes(
        left.join(right, "horizontal")
        .cast("uchar")
        .copy(interpretation="srgb")
        .write_to_buffer(".png")
    )


async def render(
    processor: VipsImageProcessor, source: bytes, spec: dict[str, Any], **kw: Any
) -> Any:
    out = await processor.render(source, parse_spec(spec), **kw)
    image = load(out.data)
    assert (image.width, image.height) == (out.width, out.height)
    return out, image


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif", "gif"])
async def test_each_output_format_encodes(processor: VipsImageProcessor, fmt: str) -> None:
    out, image = await render(processor, photo(120, 80), {"format": fmt})
    assert MAGIC[fmt](out.data)
    assert out.format == fmt
    assert (image.width, image.height) == (120, 80)
    assert image.get_typeof("exif-data") == 0  # metadata stripped


async def test_resize_fits(processor: VipsImageProcessor) -> None:
    source = photo(400, 200)
    expected = {"cover": (100, 100), "contain": (100, 100), "fill": (100, 100),
                "inside": (100, 50), "outside": (200, 100)}  # fmt: skip
    for fit, size in expected.items():
        spec = {"resize": {"width": 100, "height": 100, "fit": fit}, "format": "png"}
        _, image = await render(processor, source, spec)
        assert (image.width, image.height) == size, fit
    _, contain = await render(
        processor,
        source,
        {"resize": {"width": 100, "height": 100, "fit": "contain"}, "format": "png"},
    )
    assert contain.getpoint(50, 2)[3] == 0  # letterboxed with transparency
    _, one_edge = await render(processor, source, {"resize": "x50"})
    assert (one_edge.width, one_edge.height) == (100, 50)


async def test_crop_keeps_the_marked_corner(processor: VipsImageProcessor) -> None:
    _, image = await render(
        processor,
        photo(400, 400),
        {"crop": {"x": 0, "y": 0, "width": 40, "height": 30}, "format": "png"},
    )
    assert (image.width, image.height) == (40, 30)
    assert is_red(rgb(image, 5, 5))


async def test_mirror_flip_and_rotate_move_the_marked_corner(processor: VipsImageProcessor) -> None:
    source = photo(200, 100)  # red square in the top-left corner
    _, mirrored = await render(processor, source, {"mirror": True, "format": "png"})
    assert is_red(rgb(mirrored, 195, 5))
    assert not is_red(rgb(mirrored, 5, 5))
    _, flipped = await render(processor, source, {"flip": True, "format": "png"})
    assert is_red(rgb(flipped, 5, 95))
    assert not is_red(rgb(flipped, 5, 5))
    _, turned = await render(processor, source, {"rotate": 90, "format": "png"})
    assert (turned.width, turned.height) == (100, 200)
    assert is_red(rgb(turned, 95, 5))  # clockwise: top-left goes to top-right


async def test_any_angle_matches_the_plan(processor: VipsImageProcessor) -> None:
    source = photo(100, 50)
    expected = plan(
        parse_spec({"rotate": 30}), width=100, height=50, source_format="jpeg", limits=ImageLimits()
    )
    _, image = await render(processor, source, {"rotate": 30, "format": "png"})
    assert (image.width, image.height) == (expected.width, expected.height) == (112, 93)
    assert image.getpoint(0, 0)[3] == 0  # the corners the turn opened are transparent


async def test_grayscale_has_equal_channels(processor: VipsImageProcessor) -> None:
    _, image = await render(processor, photo(), {"filters": {"grayscale": True}, "format": "png"})
    for x, y in [(5, 5), (300, 200), (600, 450)]:
        r, g, b = rgb(image, x, y)
        assert r == g == b


async def test_sepia_tones_warm(processor: VipsImageProcessor) -> None:
    _, image = await render(processor, grey(), {"filters": {"sepia": True}, "format": "png"})
    r, g, b = rgb(image, 32, 32)
    assert r > g > b


async def test_blur_softens_and_sharpen_hardens_an_edge(processor: VipsImageProcessor) -> None:
    def step(image: Any) -> float:
        return float(image.getpoint(32, 32)[0] - image.getpoint(31, 32)[0])

    _, plain = await render(processor, edge(), {"format": "png"})
    _, blurred = await render(processor, edge(), {"filters": {"blur": 3}, "format": "png"})
    assert step(blurred) < step(plain)
    _, soft = await render(processor, edge(), {"filters": {"blur": 2}, "format": "png"})
    _, sharpened = await render(
        processor, edge(), {"filters": {"blur": 2, "sharpen": True}, "format": "png"}
    )

    def contrast(image: Any) -> float:  # across the edge, three pixels either side
        return float(image.getpoint(34, 32)[0] - image.getpoint(29, 32)[0])

    assert contrast(sharpened) > contrast(soft) + 5


async def test_text_watermark_changes_its_corner_only(processor: VipsImageProcessor) -> None:
    source = grey(300, 200, level=40)
    _, plain = await render(processor, source, {"format": "png"})
    _, marked = await render(
        processor, source, {"watermark": {"text": "PIXELPRESS", "opacity": 1}, "format": "png"}
    )
    br = (slice(150, 300), slice(140, 200))
    tl = (slice(0, 100), slice(0, 60))

    def region_max(image: Any, area: tuple[slice, slice]) -> float:
        xs, ys = area
        return float(image.crop(xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start).max())

    assert region_max(marked, br) > region_max(plain, br) + 100  # white text over dark grey
    assert region_max(marked, tl) == region_max(plain, tl)


async def test_image_watermark_lands_at_its_position(processor: VipsImageProcessor) -> None:
    source = grey(400, 300, level=40)
    logo = (
        pyvips.Image.black(64, 64)
        .new_from_image([0, 0, 255])
        .cast("uchar")
        .copy(interpretation="srgb")
    )
    mark = bytes(logo.write_to_buffer(".png"))
    _, image = await render(
        processor,
        source,
        {"watermark": {"image": "x", "position": "top-left", "opacity": 1}, "format": "png"},
        watermark=mark,
    )
    assert rgb(image, 20, 20)[2] > 200  # blue logo in the top-left
    assert rgb(image, 380, 280) == [40, 40, 40]  # the rest untouched


async def test_output_limits_apply_to_the_whole_chain() -> None:
    small = VipsImageProcessor(ImageLimits(max_edge=150, max_pixels=20_000), threads=1)
    with pytest.raises(Unprocessable):
        await small.render(photo(100, 100), parse_spec({"resize": "140x140", "rotate": 45}))


async def test_render_of_garbage_is_invalid_input(processor: VipsImageProcessor) -> None:
    with pytest.raises(InvalidInput):
        await processor.render(b"\xff\xd8\xff not really", parse_spec({"rotate": 90}))


# --- ingest --------------------------------------------------------------------------------------


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".jpg", ImageFormat.JPEG), (".png", ImageFormat.PNG), (".webp", ImageFormat.WEBP),
     (".gif", ImageFormat.GIF), (".avif", ImageFormat.AVIF), (".tif", ImageFormat.TIFF)],
)  # fmt: skip
async def test_ingest_accepts_each_type(
    processor: VipsImageProcessor, tmp_path: Path, suffix: str, fmt: ImageFormat
) -> None:
    ingested = await processor.ingest(write(tmp_path, photo(64, 48, suffix)))
    assert ingested.info.format is fmt
    assert (ingested.info.width, ingested.info.height) == (64, 48)
    assert ingested.cleaned is None  # nothing to fix: kept byte for byte


async def test_ingest_applies_orientation_and_strips_gps(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    image = load(photo(200, 100)).copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    image.set_type(
        pyvips.GValue.gstr_type,
        "exif-ifd3-GPSLatitudeRef",
        "N (North, ASCII, 2 components, 2 bytes)",
    )
    data = bytes(image.write_to_buffer(".jpg"))
    assert "exif-ifd3-GPSLatitudeRef" in load(data).get_fields()
    ingested = await processor.ingest(write(tmp_path, data))
    assert (ingested.info.width, ingested.info.height) == (100, 200)
    assert ingested.cleaned is not None
    clean = load(ingested.cleaned)
    assert (clean.width, clean.height) == (100, 200)  # upright now
    assert not [f for f in clean.get_fields() if f.startswith("exif-ifd3-")]
    assert clean.get("orientation") if clean.get_typeof("orientation") else 1 == 1
    assert is_red(rgb(clean, 95, 5))  # orientation 6: the top-left mark is now top-right


async def test_ingest_refusals(processor: VipsImageProcessor, tmp_path: Path) -> None:
    cases: list[tuple[bytes, type[Exception], str]] = [
        (b"", InvalidInput, "empty_file"),
        (photo(300, 300)[:700], InvalidInput, "invalid_image"),
        (bytes(range(256)) * 4, UnsupportedMedia, "unsupported_media_type"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", UnsupportedMedia, "unsupported_media_type"),
        (b"%PDF-1.4 hello", UnsupportedMedia, "unsupported_media_type"),
        (b"<!doctype html><p>x", UnsupportedMedia, "unsupported_media_type"),
        (png_declaring(100_000, 100_000), TooLarge, "image_too_large"),
    ]
    for data, error, code in cases:
        with pytest.raises(error) as caught:
            await processor.ingest(write(tmp_path, data))
        assert caught.value.code == code  # type: ignore[attr-defined]


async def test_ingest_limits_edges_pixels_and_frames(tmp_path: Path) -> None:
    strict = VipsImageProcessor(
        ImageLimits(max_edge=100, max_pixels=5_000, max_frames=2), threads=1
    )
    with pytest.raises(TooLarge) as caught:
        await strict.ingest(write(tmp_path, photo(120, 10, ".png")))
    assert caught.value.details["limit"] == 100
    with pytest.raises(TooLarge) as caught:
        await strict.ingest(write(tmp_path, photo(90, 90, ".png")))
    assert caught.value.details["limit"] == 5_000
    distinct = [load(grey(20, 20, level)) for level in (30, 130, 230)]  # equal frames merge
    frames = pyvips.Image.arrayjoin(distinct, across=1)
    frames = frames.copy()
    frames.set_type(pyvips.GValue.gint_type, "page-height", 20)
    animated = bytes(frames.write_to_buffer(".gif"))
    with pytest.raises(TooLarge) as caught:
        await strict.ingest(write(tmp_path, animated))
    assert caught.value.details["limit"] == 2
