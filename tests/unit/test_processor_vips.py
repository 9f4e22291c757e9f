"""Each operation checked on generated images: dimensions, format (magic bytes) and pixels."""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import Any

import pytest
import pyvips

from pixelpress.adapters.vips.ingest import sniff
from pixelpress.adapters.vips.processor import VipsImageProcessor
from pixelpress.domain.errors import InvalidInput, TooLarge, Unprocessable, UnsupportedMedia
from pixelpress.domain.models import ImageFormat, ImageLimits
from pixelpress.domain.spec import parse_spec, plan
from tests.images import bigtiff_declaring, photo, png_declaring

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


def load(data: bytes, **options: Any) -> Any:
    return pyvips.Image.new_from_buffer(data, "", **options)


def rgb(image: Any, x: int, y: int) -> list[float]:
    return list(image.getpoint(x, y))[:3]


def is_red(p: list[float]) -> bool:
    return p[0] > 200 and p[1] < 60 and p[2] < 60


def solid(width: int, height: int, colour: list[int]) -> Any:
    return pyvips.Image.black(width, height).new_from_image(colour).cast("uchar")


def grey(width: int = 64, height: int = 64, level: int = 128, fmt: str = ".png") -> bytes:
    image = solid(width, height, [level] * 3).copy(interpretation="srgb")
    return bytes(image.write_to_buffer(fmt, keep="none"))


def edge(width: int = 64, height: int = 64) -> bytes:
    """Dark left half, light right half: a sharp vertical edge in the middle."""
    left = solid(width // 2, height, [64, 64, 64])
    right = solid(width - width // 2, height, [192, 192, 192])
    return bytes(left.join(right, "horizontal").copy(interpretation="srgb").pngsave_buffer())


def region(image: Any, x: int, y: int, width: int, height: int) -> Any:
    return image.crop(x, y, width, height)


def exif_block(orientation: int = 1, gps: bool = True) -> bytes:
    """A real EXIF block: IFD0 with Orientation and (optionally) a GPS IFD with a latitude."""
    entries = [struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)]
    if gps:
        entries.append(struct.pack("<HHII", 0x8825, 4, 1, 8 + 2 + 2 * 12 + 4))
    ifd0 = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0
    if gps:
        data_at = len(tiff) + 2 + 2 * 12 + 4
        tiff += struct.pack("<H", 2)
        tiff += struct.pack("<HHI4s", 1, 2, 2, b"N\x00\x00\x00")  # GPSLatitudeRef
        tiff += struct.pack("<HHII", 2, 5, 3, data_at)  # GPSLatitude, three rationals
        tiff += struct.pack("<I", 0) + struct.pack("<6I", 52, 1, 30, 1, 0, 1)
    return b"Exif\x00\x00" + tiff


def with_exif(data: bytes, fmt: str, orientation: int = 1, gps: bool = True, **save: Any) -> bytes:
    image = load(data).copy()
    image.set_type(pyvips.GValue.blob_type, "exif-data", exif_block(orientation, gps))
    return bytes(image.write_to_buffer(fmt, **save))


def animation(
    levels: list[int], fmt: str = ".gif", size: int = 20, exif: bytes | None = None, **save: Any
) -> bytes:
    frames = pyvips.Image.arrayjoin([solid(size, size, [v] * 3) for v in levels], across=1)
    frames = frames.copy(interpretation="srgb")
    frames.set_type(pyvips.GValue.gint_type, "page-height", size)
    if exif is not None:
        frames.set_type(pyvips.GValue.blob_type, "exif-data", exif)
    return bytes(frames.write_to_buffer(fmt, **save))


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return path


async def render(
    processor: VipsImageProcessor, source: bytes, spec: dict[str, Any], **kw: Any
) -> Any:
    out = await processor.render(source, parse_spec(spec), **kw)
    image = load(out.data)
    assert (image.width, image.height) == (out.width, out.height)
    return out, image


# --- render ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif", "gif"])
async def test_each_output_format_encodes(processor: VipsImageProcessor, fmt: str) -> None:
    source = with_exif(photo(120, 80), ".jpg", gps=True)
    out, image = await render(processor, source, {"format": fmt})
    assert MAGIC[fmt](out.data)
    assert out.format == fmt
    assert (image.width, image.height) == (120, 80)
    for field in ("exif-data", "xmp-data", "iptc-data", "icc-profile-data"):
        assert image.get_typeof(field) == 0  # metadata stripped


async def test_the_source_format_is_kept_and_tiff_becomes_jpeg(
    processor: VipsImageProcessor,
) -> None:
    for fmt, expected in ((".png", "png"), (".webp", "webp"), (".tif", "jpeg")):
        out, _ = await render(processor, photo(60, 40, fmt), {"rotate": 90})
        assert out.format == expected
        assert MAGIC[expected](out.data)


async def test_quality_and_compress(processor: VipsImageProcessor) -> None:
    source = photo(300, 200)
    default, _ = await render(processor, source, {"format": "jpeg"})
    low, _ = await render(processor, source, {"format": "jpeg", "quality": 20})
    small, _ = await render(processor, source, {"format": "jpeg", "compress": True})
    full, _ = await render(processor, source, {"format": "jpeg", "quality": 100})
    assert len(low.data) < len(small.data) < len(default.data) < len(full.data)
    lossless, _ = await render(processor, source, {"format": "png"})
    palette, image = await render(processor, source, {"format": "png", "compress": True})
    assert len(palette.data) < len(lossless.data)
    assert image.get("palette")


async def test_resize_fits(processor: VipsImageProcessor) -> None:
    source = photo(400, 200)
    expected = {"cover": (100, 100), "contain": (100, 100), "fill": (100, 100),
                "inside": (100, 50), "outside": (200, 100)}  # fmt: skip
    for fit, size in expected.items():
        spec = {"resize": {"width": 100, "height": 100, "fit": fit}, "format": "png"}
        _, image = await render(processor, source, spec)
        assert (image.width, image.height) == size, fit
    _, contain = await render(
        processor, source, {"resize": {"width": 100, "height": 100, "fit": "contain"}}
    )
    assert rgb(contain, 50, 2) == [0, 0, 0]  # JPEG letterbox: black
    _, contain = await render(
        processor,
        source,
        {"resize": {"width": 100, "height": 100, "fit": "contain"}, "format": "png"},
    )
    assert contain.getpoint(50, 2)[3] == 0  # PNG letterbox: transparent
    assert contain.getpoint(50, 50)[3] == 255
    _, one_edge = await render(processor, source, {"resize": "x50"})
    assert (one_edge.width, one_edge.height) == (100, 50)
    _, cover = await render(processor, source, {"resize": "100x100", "format": "png"})
    assert not is_red(rgb(cover, 2, 2))  # the centre is kept: the red corner is cropped away


def quarters() -> bytes:
    """A 400x400 picture in four colours: red, green (top); blue, white (bottom)."""
    top = solid(200, 200, [255, 0, 0]).join(solid(200, 200, [0, 255, 0]), "horizontal")
    bottom = solid(200, 200, [0, 0, 255]).join(solid(200, 200, [255, 255, 255]), "horizontal")
    image = top.join(bottom, "vertical").copy(interpretation="srgb")
    return bytes(image.pngsave_buffer())


@pytest.mark.parametrize(
    ("gravity", "corner"),
    [
        ("top-left", [255, 0, 0]),
        ("north_east", [0, 255, 0]),
        ("bottom-left", [0, 0, 255]),
        ("south-east", [255, 255, 255]),
    ],
)
async def test_cover_crops_keep_what_gravity_names(
    processor: VipsImageProcessor, gravity: str, corner: list[int]
) -> None:
    # 400x400 covering 100x25 (or 25x100): scaled to 100x100, a quarter of one edge kept.
    side = 2 if "left" in gravity or "west" in gravity else 97
    end = 2 if "top" in gravity or "north" in gravity else 97
    for width, height, x, y in ((100, 25, side, 2), (25, 100, 2, end)):
        spec = {"resize": {"width": width, "height": height, "gravity": gravity}, "format": "png"}
        _, image = await render(processor, quarters(), spec)
        assert (image.width, image.height) == (width, height)
        assert [round(v) for v in rgb(image, x, y)] == corner, (width, height)


async def test_auto_gravity_finds_the_interesting_part(processor: VipsImageProcessor) -> None:
    # A flat grey field with one busy, saturated patch near the right edge.
    field = solid(600, 200, [128, 128, 128])
    patch = photo(120, 120, ".png")
    busy = field.insert(pyvips.Image.new_from_buffer(patch, "")[:3], 460, 40)
    source = bytes(busy.copy(interpretation="srgb").pngsave_buffer())
    spec = {"resize": {"width": 200, "height": 200, "gravity": "auto"}, "format": "png"}
    _, image = await render(processor, source, spec)
    assert (image.width, image.height) == (200, 200)
    _, centred = await render(processor, source, {"resize": "200x200", "format": "png"})
    # The patch is in the automatic crop, not in the centre one (all grey there).
    assert image.crop(60, 40, 120, 120).deviate() > 10
    assert centred.deviate() < 1


async def test_crop_then_resize(processor: VipsImageProcessor) -> None:
    _, image = await render(
        processor,
        photo(400, 400),
        {"crop": {"x": 0, "y": 0, "width": 40, "height": 30}, "format": "png"},
    )
    assert (image.width, image.height) == (40, 30)
    assert is_red(rgb(image, 5, 5))
    _, scaled = await render(
        processor,
        photo(400, 400),
        {"crop": {"x": 0, "y": 0, "width": 100, "height": 100}, "resize": "20x", "format": "png"},
    )
    assert (scaled.width, scaled.height) == (20, 20)
    assert is_red(rgb(scaled, 2, 2))


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
    assert not is_red(rgb(turned, 5, 5))
    _, back = await render(processor, source, {"rotate": -90, "format": "png"})
    assert is_red(rgb(back, 5, 195))  # anticlockwise: top-left goes to bottom-left


@pytest.mark.parametrize(
    "spec",
    [
        {"rotate": 30},
        {"rotate": 200},
        {"rotate": 17.5, "resize": "61x"},
        {"crop": {"x": 3, "y": 5, "width": 71, "height": 33}, "rotate": 333.3},
        {"resize": {"width": 37, "height": 91, "fit": "outside"}, "rotate": 45},
        {"resize": {"width": 37, "height": 91, "fit": "contain"}, "rotate": 10},
    ],
)
async def test_render_agrees_with_the_plan(
    processor: VipsImageProcessor, spec: dict[str, Any]
) -> None:
    expected = plan(
        parse_spec(spec), width=100, height=50, source_format="png", limits=ImageLimits()
    )
    _, image = await render(processor, photo(100, 50, ".png"), spec)
    assert (image.width, image.height) == (expected.width, expected.height)


async def test_turns_and_flips_after_shrink_on_load(processor: VipsImageProcessor) -> None:
    # Big enough that reading the streamed decode out of order fails (as it did before).
    source = photo(1200, 900)
    for spec in ({"resize": "800x600", "rotate": 30}, {"resize": "800x", "flip": True},
                 {"resize": "x600", "rotate": 90}):  # fmt: skip
        expected = plan(parse_spec(spec), width=1200, height=900, source_format="jpeg",
                        limits=ImageLimits())  # fmt: skip
        _, image = await render(processor, source, spec)
        assert (image.width, image.height) == (expected.width, expected.height)


async def test_any_angle_opens_transparent_or_black_corners(processor: VipsImageProcessor) -> None:
    source = grey(100, 50, level=128)
    _, png = await render(processor, source, {"rotate": 30})
    assert (png.width, png.height) == (112, 93)
    assert png.getpoint(0, 0)[3] == 0  # the corners the turn opened are transparent
    assert png.getpoint(56, 46)[3] == 255
    _, jpeg = await render(processor, source, {"rotate": 30, "format": "jpeg"})
    assert max(rgb(jpeg, 1, 1)) < 10  # and black in JPEG


async def test_grayscale_has_equal_channels(processor: VipsImageProcessor) -> None:
    _, image = await render(processor, photo(), {"filters": {"grayscale": True}, "format": "png"})
    assert image.bands == 3
    for x, y in [(5, 5), (300, 200), (600, 450)]:
        r, g, b = rgb(image, x, y)
        assert r == g == b
    assert rgb(image, 5, 5) != rgb(image, 600, 450)


async def test_sepia_tones_warm(processor: VipsImageProcessor) -> None:
    _, image = await render(processor, grey(), {"filters": {"sepia": True}, "format": "png"})
    r, g, b = rgb(image, 32, 32)
    assert r > g > b


def contrast(image: Any) -> float:
    """Across the edge (between x 31 and 32), two pixels either side."""
    return float(image.getpoint(33, 32)[0] - image.getpoint(30, 32)[0])


async def test_blur_softens_an_edge(processor: VipsImageProcessor) -> None:
    _, plain = await render(processor, edge(), {"format": "png"})
    _, blurred = await render(processor, edge(), {"filters": {"blur": 3}, "format": "png"})
    step = plain.getpoint(32, 32)[0] - plain.getpoint(31, 32)[0]
    assert blurred.getpoint(32, 32)[0] - blurred.getpoint(31, 32)[0] < step
    assert contrast(blurred) < contrast(plain)


async def test_sharpen_hardens_an_edge(processor: VipsImageProcessor) -> None:
    _, plain = await render(processor, edge(), {"format": "png"})
    _, sharpened = await render(processor, edge(), {"filters": {"sharpen": True}, "format": "png"})
    assert contrast(sharpened) > contrast(plain) + 5  # overshoot on both sides of the edge
    assert sharpened.getpoint(2, 2)[0] == plain.getpoint(2, 2)[0]  # flat areas stay


async def test_filters_keep_alpha(processor: VipsImageProcessor) -> None:
    rgba = solid(40, 40, [200, 100, 50, 128]).copy(interpretation="srgb").pngsave_buffer()
    _, image = await render(
        processor, rgba, {"filters": {"grayscale": True, "blur": 1, "sharpen": True}}
    )
    assert image.bands == 4
    assert image.getpoint(20, 20)[3] == 128


def marked_regions(plain: Any, marked: Any) -> tuple[float, float]:
    """How much the bottom-right and the top-left quarters changed."""
    w, h = plain.width // 2, plain.height // 2
    br = (region(marked, w, h, w, h) - region(plain, w, h, w, h)).abs().max()
    tl = (region(marked, 0, 0, w, h) - region(plain, 0, 0, w, h)).abs().max()
    return float(br), float(tl)


async def test_text_watermark_changes_its_corner_only(processor: VipsImageProcessor) -> None:
    source = grey(300, 200, level=100)
    _, plain = await render(processor, source, {"format": "png"})
    _, marked = await render(
        processor, source, {"watermark": {"text": "PIXELPRESS", "opacity": 1}, "format": "png"}
    )
    bottom_right, top_left = marked_regions(plain, marked)
    assert bottom_right > 100  # white text (and its dark shadow) over mid grey
    assert top_left == 0
    _, white = await render(processor, grey(300, 200, level=255), {"watermark": {"text": "X"}})
    assert region(white, 150, 100, 150, 100).min() < 200  # the shadow shows on white too


async def test_text_watermark_is_text_not_markup(processor: VipsImageProcessor) -> None:
    source = grey(300, 200, level=100)
    _, plain = await render(processor, source, {"format": "png"})
    hostile = "<span size='900000'>&big</span> <b"
    _, marked = await render(
        processor, source, {"watermark": {"text": hostile, "opacity": 1}, "format": "png"}
    )
    assert (marked.width, marked.height) == (300, 200)
    assert marked_regions(plain, marked)[0] > 100


async def test_image_watermark_changes_its_corner_only(processor: VipsImageProcessor) -> None:
    source = grey(400, 300, level=40)
    logo = bytes(solid(64, 64, [0, 0, 255]).copy(interpretation="srgb").pngsave_buffer())
    _, plain = await render(processor, source, {"format": "png"})
    _, marked = await render(
        processor, source, {"watermark": {"image": "logo", "opacity": 1}, "format": "png"},
        watermark=logo,
    )  # fmt: skip
    bottom_right, top_left = marked_regions(plain, marked)
    assert bottom_right > 100
    assert top_left == 0
    # a quarter of the width, a margin away from the corner, and fully opaque at opacity 1
    assert rgb(marked, 400 - 9 - 50, 300 - 9 - 50) == [0, 0, 255]
    assert rgb(marked, 400 - 9 - 100 - 2, 300 - 9 - 50) == [40, 40, 40]
    _, faint = await render(
        processor, source, {"watermark": {"image": "logo", "opacity": 0.5}, "format": "png"},
        watermark=logo,
    )  # fmt: skip
    r, _, b = rgb(faint, 400 - 9 - 50, 300 - 9 - 50)
    assert 100 < b < 160 and r < 30  # half blue over dark grey
    with pytest.raises(Unprocessable):
        await processor.render(source, parse_spec({"watermark": "logo"}))  # bytes missing


async def test_colour_is_converted_to_srgb(processor: VipsImageProcessor) -> None:
    red = solid(32, 32, [200, 60, 30]).copy(interpretation="srgb")
    wide_gamut = bytes(red.icc_transform("p3").jpegsave_buffer(Q=98, keep="icc"))
    assert load(wide_gamut).getpoint(5, 5)[0] < 190  # the same colour, as P3 numbers
    _, image = await render(processor, wide_gamut, {"format": "png"})
    assert [round(v / 8) for v in rgb(image, 5, 5)] == [round(v / 8) for v in (200, 60, 30)]
    sources = {
        "grey": solid(32, 32, [90]).copy(interpretation="b-w").pngsave_buffer(),
        "16-bit": (solid(32, 32, [30000] * 3).cast("ushort").copy(interpretation="rgb16")
                   .pngsave_buffer()),
        "cmyk": red.icc_transform("cmyk").jpegsave_buffer(),
    }  # fmt: skip
    for name, data in sources.items():
        _, image = await render(processor, data, {"rotate": 90, "format": "png"})
        assert (image.bands, image.format, image.interpretation) == (3, "uchar", "srgb"), name


async def test_output_limits_apply_to_the_whole_chain() -> None:
    small = VipsImageProcessor(ImageLimits(max_edge=150, max_pixels=20_000), threads=1)
    await small.render(photo(100, 100), parse_spec({"resize": "140x140"}))  # within the limits
    with pytest.raises(Unprocessable) as caught:
        await small.render(photo(100, 100), parse_spec({"resize": "140x140", "rotate": 45}))
    assert caught.value.details[0]["field"] == "rotate"
    assert caught.value.details[0]["limit"] == 150


async def test_animated_sources_render_their_first_frame(processor: VipsImageProcessor) -> None:
    for fmt in (".gif", ".webp"):
        source = animation([30, 130, 230], fmt)
        out, image = await render(processor, source, {"rotate": 30})
        assert out.format == fmt.lstrip(".")
        assert (image.width, image.height) == (27, 27)
        assert image.get_typeof("n-pages") == 0 or image.get("n-pages") == 1
        assert abs(rgb(image, 13, 13)[0] - 30) < 8


async def test_render_errors_are_domain_errors(processor: VipsImageProcessor) -> None:
    with pytest.raises(InvalidInput) as caught:
        await processor.render(b"\xff\xd8\xff not really", parse_spec({"rotate": 90}))
    assert caught.value.code == "invalid_image"
    with pytest.raises(InvalidInput) as caught:
        await processor.render(photo(300, 300)[:900], parse_spec({"rotate": 90}))
    assert caught.value.code == "invalid_image"
    with pytest.raises(InvalidInput) as caught:
        await processor.render(b"<svg/>", parse_spec({"rotate": 90}))
    assert caught.value.code == "invalid_image"
    outside = parse_spec({"crop": {"x": 40, "y": 0, "width": 20, "height": 10}})
    with pytest.raises(Unprocessable) as caught:
        await processor.render(photo(50, 50), outside)
    assert caught.value.details[0]["field"] == "crop"


# --- ingest ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".jpg", ImageFormat.JPEG), (".png", ImageFormat.PNG), (".webp", ImageFormat.WEBP),
     (".gif", ImageFormat.GIF), (".avif", ImageFormat.AVIF), (".tif", ImageFormat.TIFF)],
)  # fmt: skip
async def test_ingest_accepts_each_type(
    processor: VipsImageProcessor, tmp_path: Path, suffix: str, fmt: ImageFormat
) -> None:
    ingested = await processor.ingest(write(tmp_path, photo(64, 48, suffix, keep="none")))
    assert ingested.info.format is fmt
    assert (ingested.info.width, ingested.info.height, ingested.info.frames) == (64, 48, 1)
    assert ingested.cleaned is None  # nothing to fix: kept byte for byte


async def test_bigtiff_is_read_within_the_limits(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    data = photo(64, 48, ".tif", bigtiff=True, keep="none")
    assert data[:4] == b"II+\x00"
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.info.format is ImageFormat.TIFF
    assert (ingested.info.width, ingested.info.height, ingested.info.frames) == (64, 48, 1)
    _, image = await render(processor, data, {"format": "png"})
    assert is_red(rgb(image, 2, 2))  # the gradient's marked corner, where it was
    assert (image - load(photo(64, 48, ".png"))).abs().max() == 0  # every pixel as it was made
    # Its header is checked like any other before a pixel is decoded.
    for big_endian in (False, True):
        bomb = bigtiff_declaring(100_000, 100_000, big_endian=big_endian)
        with pytest.raises(TooLarge) as caught:
            await processor.ingest(write(tmp_path, bomb))
        assert caught.value.details["limit"] == ImageLimits().max_edge
        assert caught.value.details["actual"] == 100_000


async def test_a_tiff_of_too_many_pages_is_refused(tmp_path: Path) -> None:
    strict = VipsImageProcessor(ImageLimits(max_frames=2), threads=1)
    pages = pyvips.Image.arrayjoin([solid(20, 10, [v] * 3) for v in (30, 130, 230)], across=1)
    pages = pages.copy(interpretation="srgb")
    pages.set_type(pyvips.GValue.gint_type, "page-height", 10)
    for big in (False, True):
        with pytest.raises(TooLarge) as caught:
            await strict.ingest(write(tmp_path, pages.tiffsave_buffer(bigtiff=big)))
        assert (caught.value.details["limit"], caught.value.details["actual"]) == (2, 3)
        assert caught.value.code == "too_many_frames"
        assert caught.value.details["what"] == "page count"
    two = pages.crop(0, 0, 20, 20)
    two.set_type(pyvips.GValue.gint_type, "page-height", 10)
    ingested = await strict.ingest(write(tmp_path, two.tiffsave_buffer(bigtiff=True)))
    assert (ingested.info.width, ingested.info.height, ingested.info.frames) == (20, 10, 1)


async def test_harmless_exif_is_kept_byte_for_byte(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    """Upright and without a location: re-encoding would only cost quality."""
    data = photo(64, 48, ".jpg")  # libvips writes a small EXIF block, orientation 1
    assert "exif-data" in load(data).get_fields()
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.cleaned is None


async def test_ingest_turns_orientation_6_upright_and_strips_metadata(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    data = with_exif(photo(200, 100), ".jpg", orientation=6, gps=True)
    header = load(data)
    assert header.get("orientation") == 6
    assert "exif-ifd3-GPSLatitude" in header.get_fields()
    ingested = await processor.ingest(write(tmp_path, data))
    assert (ingested.info.width, ingested.info.height) == (100, 200)  # as displayed
    assert ingested.cleaned is not None
    assert MAGIC["jpeg"](ingested.cleaned)
    clean = load(ingested.cleaned)
    assert (clean.width, clean.height) == (100, 200)  # upright now
    assert clean.get_typeof("exif-data") == 0
    assert clean.get_typeof("orientation") == 0
    assert not [f for f in clean.get_fields() if f.startswith("exif-")]
    assert is_red(rgb(clean, 95, 5))  # orientation 6: the top-left mark is now top-right


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


async def test_ingest_removes_gps_and_keeps_the_icc_profile(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    p3 = load(photo(80, 60, ".png")).icc_transform("p3").pngsave_buffer(keep="icc")
    data = with_exif(p3, ".png", orientation=1, gps=True)
    assert "exif-ifd3-GPSLatitudeRef" in load(data).get_fields()
    ingested = await processor.ingest(write(tmp_path, data))
    assert (ingested.info.width, ingested.info.height) == (80, 60)
    assert ingested.cleaned is not None
    clean = load(ingested.cleaned)
    assert not [f for f in clean.get_fields() if "GPS" in f or f == "exif-data"]
    assert clean.get_typeof("icc-profile-data") != 0
    assert (clean - load(data)).abs().max() == 0  # PNG stays lossless


async def test_ingest_keeps_lossless_webp_lossless(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    data = with_exif(photo(64, 64, ".png"), ".webp", lossless=True)
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.cleaned is not None
    assert b"VP8L" in ingested.cleaned[:64]
    assert (load(ingested.cleaned) - load(data)).abs().max() == 0


async def test_ingest_animations(processor: VipsImageProcessor, tmp_path: Path) -> None:
    gif = animation([30, 130, 230])
    ingested = await processor.ingest(write(tmp_path, gif))
    assert (ingested.info.format, ingested.info.frames) == (ImageFormat.GIF, 3)
    assert (ingested.info.width, ingested.info.height) == (20, 20)
    webp = animation([30, 130, 230], ".webp", exif=exif_block(gps=True), lossless=True)
    assert "exif-ifd3-GPSLatitude" in load(webp).get_fields()
    ingested = await processor.ingest(write(tmp_path, webp))
    assert (ingested.info.frames, ingested.info.height) == (3, 20)
    assert ingested.cleaned is not None  # the GPS goes, the frames stay
    clean = load(ingested.cleaned, n=-1)
    assert clean.get("n-pages") == 3
    assert clean.get_typeof("exif-data") == 0
    assert [round(clean.getpoint(5, 20 * i + 5)[0]) for i in range(3)] == [30, 130, 230]


async def test_ingest_turns_an_animation_upright_frame_by_frame(
    processor: VipsImageProcessor, tmp_path: Path
) -> None:
    frames = [solid(30, 20, [v] * 3).draw_rect([255, 0, 0], 0, 0, 5, 5, fill=True)
              for v in (30, 130, 230)]  # fmt: skip
    strip = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", 20)
    strip.set_type(pyvips.GValue.blob_type, "exif-data", exif_block(orientation=6, gps=False))
    ingested = await processor.ingest(write(tmp_path, strip.webpsave_buffer(lossless=True)))
    assert (ingested.info.width, ingested.info.height, ingested.info.frames) == (20, 30, 3)
    assert ingested.cleaned is not None
    clean = load(ingested.cleaned, n=-1)
    assert (clean.width, clean.get("page-height"), clean.get("n-pages")) == (20, 30, 3)
    for i, level in enumerate((30, 130, 230)):
        assert is_red(rgb(clean, 17, 30 * i + 2))  # each frame's mark went top-right
        assert rgb(clean, 5, 30 * i + 20) == [level] * 3


async def test_ingest_refusals(processor: VipsImageProcessor, tmp_path: Path) -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    cases: list[tuple[bytes, type[Exception], str]] = [
        (b"", InvalidInput, "empty_file"),
        (photo(300, 300)[:700], InvalidInput, "invalid_image"),  # truncated JPEG
        (photo(300, 300, ".png")[:2000], InvalidInput, "invalid_image"),  # truncated PNG
        (animation([30, 130, 230, 60])[:-40], InvalidInput, "invalid_image"),  # last frame cut
        (animation([30, 130, 230, 60])[:-1], InvalidInput, "invalid_image"),  # trailer cut
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, InvalidInput, "invalid_image"),  # magic, no PNG
        (b"II*\x00" + b"\x00" * 100, InvalidInput, "invalid_image"),  # TIFF magic, no TIFF
        (b"MM\x00+" + b"\xff" * 100, InvalidInput, "invalid_image"),  # BigTIFF magic, no TIFF
        (bigtiff_declaring(40, 30)[:-12], InvalidInput, "invalid_image"),  # its IFD cut short
        (bytes(range(256)) * 4, UnsupportedMedia, "unsupported_media_type"),
        (b"hello, this is plain text\n", UnsupportedMedia, "unsupported_media_type"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", UnsupportedMedia, "unsupported_media_type"),
        (b"<?xml version='1.0'?><svg/>", UnsupportedMedia, "unsupported_media_type"),
        (b"%PDF-1.4 hello", UnsupportedMedia, "unsupported_media_type"),
        (b"<!doctype html><p>x", UnsupportedMedia, "unsupported_media_type"),
        (heic, UnsupportedMedia, "unsupported_media_type"),
        (png_declaring(100_000, 100_000), TooLarge, "edge_too_long"),
    ]
    for data, error, code in cases:
        with pytest.raises(error) as caught:
            await processor.ingest(write(tmp_path, data))
        assert caught.value.code == code, data[:20]  # type: ignore[attr-defined]
        if error is UnsupportedMedia:
            assert "image/avif" in caught.value.details["accepted"]  # type: ignore[attr-defined]


async def test_ingest_limits_edges_pixels_frames_and_bytes(tmp_path: Path) -> None:
    strict = VipsImageProcessor(
        ImageLimits(max_edge=100, max_pixels=5_000, max_frames=2, max_bytes=50_000), threads=1
    )
    cases = [
        (photo(120, 10, ".png"), "edge_too_long", 100, 120),
        (photo(90, 90, ".png"), "too_many_pixels", 5_000, 8_100),
        (animation([30, 130, 230]), "too_many_frames", 2, 3),
        (animation([30, 130, 230], ".webp"), "too_many_frames", 2, 3),
        (b"\xff\xd8\xff" + b"\x00" * 60_000, "file_too_large", 50_000, 60_003),
    ]
    for data, code, limit, actual in cases:
        with pytest.raises(TooLarge) as caught:
            await strict.ingest(write(tmp_path, data))
        assert caught.value.code == code
        assert caught.value.details | {"what": ""} == {"limit": limit, "actual": actual, "what": ""}
        assert str(limit) in caught.value.message
    bomb = png_declaring(100_000, 100_000)
    with pytest.raises(TooLarge) as caught:
        await VipsImageProcessor(ImageLimits(), threads=1).ingest(write(tmp_path, bomb))
    assert caught.value.details["actual"] == 100_000


def test_sniff_tells_types_from_bytes() -> None:
    assert sniff(photo(8, 8, ".avif")) is ImageFormat.AVIF
    assert sniff(photo(8, 8, ".tif")) is ImageFormat.TIFF
    assert sniff(photo(8, 8, ".tif", bigtiff=True)) is ImageFormat.TIFF
    assert sniff(b"II+\x00") is sniff(b"MM\x00+") is ImageFormat.TIFF
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic") is None


async def test_libvips_says_only_what_matters(
    processor: VipsImageProcessor, caplog: pytest.LogCaptureFixture
) -> None:
    # libvips' INFO chatter (ten lines a render) never reaches Python; its warnings do.
    caplog.set_level(logging.DEBUG, logger="pyvips")
    await render(processor, photo(800, 600), {"resize": {"width": 100}, "format": "webp"})
    assert [r for r in caplog.records if r.name == "pyvips"] == []
    truncated = photo(800, 600)[:4000]
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_buffer(truncated, "", fail_on="truncated").avg()
    assert any(r.name == "pyvips" and r.levelno == logging.WARNING for r in caplog.records)
