"""The ImageProcessor's promises checked on the pixels, over every engine that really decodes
them (tests/contract/engines.py): each operation's effect, colour, metadata stripped, ingest's
upright and cleaned copies. Sources are made and outputs decoded with libvips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pyvips

from pixelpress.domain.errors import TooLarge
from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec import parse_spec
from pixelpress.ports import ImageProcessor
from tests.contract.engines import ENGINES, PIXEL_ENGINES, Engine
from tests.images import (
    MAGIC,
    animation,
    edge,
    exif_block,
    grey,
    is_red,
    load,
    photo,
    quarters,
    rgb,
    solid,
    with_exif,
    write,
)


@pytest.fixture(params=PIXEL_ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    return ENGINES[request.param]


@pytest.fixture
def processor(engine: Engine) -> ImageProcessor:
    return engine.make(ImageLimits())


def region(image: Any, x: int, y: int, width: int, height: int) -> Any:
    return image.crop(x, y, width, height)


async def render(processor: ImageProcessor, source: bytes, spec: dict[str, Any], **kw: Any) -> Any:
    out = await processor.render(source, parse_spec(spec), **kw)
    image = load(out.data)
    assert (image.width, image.height) == (out.width, out.height)
    return out, image


# --- render ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif", "gif"])
async def test_each_output_format_encodes(processor: ImageProcessor, fmt: str) -> None:
    source = with_exif(photo(120, 80), ".jpg", gps=True)
    out, image = await render(processor, source, {"format": fmt})
    assert MAGIC[fmt](out.data)
    assert out.format == fmt
    assert (image.width, image.height) == (120, 80)
    for field in ("exif-data", "xmp-data", "iptc-data", "icc-profile-data"):
        assert image.get_typeof(field) == 0  # metadata stripped


async def test_the_source_format_is_kept_and_tiff_becomes_jpeg(
    processor: ImageProcessor,
) -> None:
    for fmt, expected in ((".png", "png"), (".webp", "webp"), (".tif", "jpeg")):
        out, _ = await render(processor, photo(60, 40, fmt), {"rotate": 90})
        assert out.format == expected
        assert MAGIC[expected](out.data)


async def test_quality_and_compress(processor: ImageProcessor) -> None:
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


async def test_contain_letterboxes_and_cover_keeps_the_centre(processor: ImageProcessor) -> None:
    source = photo(400, 200)
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
    _, cover = await render(processor, source, {"resize": "100x100", "format": "png"})
    assert not is_red(rgb(cover, 2, 2))  # the centre is kept: the red corner is cropped away


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
    processor: ImageProcessor, gravity: str, corner: list[int]
) -> None:
    # 400x400 covering 100x25 (or 25x100): scaled to 100x100, a quarter of one edge kept.
    side = 2 if "left" in gravity or "west" in gravity else 97
    end = 2 if "top" in gravity or "north" in gravity else 97
    for width, height, x, y in ((100, 25, side, 2), (25, 100, 2, end)):
        spec = {"resize": {"width": width, "height": height, "gravity": gravity}, "format": "png"}
        _, image = await render(processor, quarters(), spec)
        assert (image.width, image.height) == (width, height)
        assert [round(v) for v in rgb(image, x, y)] == corner, (width, height)


async def test_auto_gravity_finds_the_interesting_part(processor: ImageProcessor) -> None:
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


async def test_a_large_jpeg_resizes_to_the_exact_size_and_picture(
    processor: ImageProcessor,
) -> None:
    # Over 16 MP: decoded with more shrink on load than libvips' thumbnail would use.
    source = photo(6400, 3300, ".jpg", Q=90)
    for spec, size in (
        ({"resize": {"width": 2048, "height": 2048, "fit": "inside"}}, (2048, 1056)),
        ({"resize": {"width": 301, "height": 200, "fit": "fill"}}, (301, 200)),
        ({"resize": {"width": 300, "height": 300, "fit": "cover", "gravity": "left"}}, (300, 300)),
    ):
        out, image = await render(processor, source, spec)
        assert (out.width, out.height) == size
        assert is_red(image.getpoint(4, 4))  # photo()'s red top-left corner, in its place
        assert not is_red(image.getpoint(size[0] - 4, size[1] - 4))


async def test_big_jpeg_outputs_are_compact_and_only_masters_trade_bytes_for_memory(
    processor: ImageProcessor,
) -> None:
    """Every output a user gets has optimised coding, however big; a big rendition (a master)
    is the same picture in a few more bytes, for a lower memory peak."""
    source = photo(2400, 1600, ".jpg", Q=90)
    spec = {"resize": {"width": 2048, "height": 2048, "fit": "inside"}, "quality": 92}
    served, served_image = await render(processor, source, spec)
    master, master_image = await render(processor, source, spec, master=True)
    assert (served.width, served.height) == (master.width, master.height) == (2048, 1365)
    assert len(served.data) < len(master.data) * 0.97
    assert served_image.subtract(master_image).abs().max() == 0  # the same pixels
    small = {"resize": {"width": 800}}
    assert (await render(processor, source, small, master=True))[0].data == (
        await render(processor, source, small)
    )[0].data


async def test_crop_then_resize(processor: ImageProcessor) -> None:
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


async def test_mirror_flip_and_rotate_move_the_marked_corner(processor: ImageProcessor) -> None:
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


async def test_any_angle_opens_transparent_or_black_corners(processor: ImageProcessor) -> None:
    source = grey(100, 50, level=128)
    _, png = await render(processor, source, {"rotate": 30})
    assert (png.width, png.height) == (112, 93)
    assert png.getpoint(0, 0)[3] == 0  # the corners the turn opened are transparent
    assert png.getpoint(56, 46)[3] == 255
    _, jpeg = await render(processor, source, {"rotate": 30, "format": "jpeg"})
    assert max(rgb(jpeg, 1, 1)) < 10  # and black in JPEG


async def test_grayscale_has_equal_channels(processor: ImageProcessor) -> None:
    _, image = await render(processor, photo(), {"filters": {"grayscale": True}, "format": "png"})
    assert image.bands == 3
    for x, y in [(5, 5), (300, 200), (600, 450)]:
        r, g, b = rgb(image, x, y)
        assert r == g == b
    assert rgb(image, 5, 5) != rgb(image, 600, 450)


async def test_sepia_tones_warm(processor: ImageProcessor) -> None:
    _, image = await render(processor, grey(), {"filters": {"sepia": True}, "format": "png"})
    r, g, b = rgb(image, 32, 32)
    assert r > g > b


def contrast(image: Any) -> float:
    """Across the edge (between x 31 and 32), two pixels either side."""
    return float(image.getpoint(33, 32)[0] - image.getpoint(30, 32)[0])


async def test_blur_softens_an_edge(processor: ImageProcessor) -> None:
    _, plain = await render(processor, edge(), {"format": "png"})
    _, blurred = await render(processor, edge(), {"filters": {"blur": 3}, "format": "png"})
    step = plain.getpoint(32, 32)[0] - plain.getpoint(31, 32)[0]
    assert blurred.getpoint(32, 32)[0] - blurred.getpoint(31, 32)[0] < step
    assert contrast(blurred) < contrast(plain)


async def test_sharpen_hardens_an_edge(processor: ImageProcessor) -> None:
    _, plain = await render(processor, edge(), {"format": "png"})
    _, sharpened = await render(processor, edge(), {"filters": {"sharpen": True}, "format": "png"})
    assert contrast(sharpened) > contrast(plain) + 5  # overshoot on both sides of the edge
    assert sharpened.getpoint(2, 2)[0] == plain.getpoint(2, 2)[0]  # flat areas stay


async def test_filters_keep_alpha(processor: ImageProcessor) -> None:
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


async def test_text_watermark_changes_its_corner_only(processor: ImageProcessor) -> None:
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


async def test_text_watermark_is_text_not_markup(processor: ImageProcessor) -> None:
    source = grey(300, 200, level=100)
    _, plain = await render(processor, source, {"format": "png"})
    hostile = "<span size='900000'>&big</span> <b"
    _, marked = await render(
        processor, source, {"watermark": {"text": hostile, "opacity": 1}, "format": "png"}
    )
    assert (marked.width, marked.height) == (300, 200)
    assert marked_regions(plain, marked)[0] > 100


async def test_image_watermark_changes_its_corner_only(processor: ImageProcessor) -> None:
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


async def test_colour_is_converted_to_srgb(processor: ImageProcessor) -> None:
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


async def test_animated_sources_render_their_first_frame(processor: ImageProcessor) -> None:
    for fmt in (".gif", ".webp"):
        source = animation([30, 130, 230], fmt)
        out, image = await render(processor, source, {"rotate": 30})
        assert out.format == fmt.lstrip(".")
        assert (image.width, image.height) == (27, 27)
        assert image.get_typeof("n-pages") == 0 or image.get("n-pages") == 1
        assert abs(rgb(image, 13, 13)[0] - 30) < 8


# --- ingest ---------------------------------------------------------------------------------------


async def test_a_tiff_of_too_many_pages_is_refused(engine: Engine, tmp_path: Path) -> None:
    strict = engine.make(ImageLimits(max_frames=2))
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
    processor: ImageProcessor, tmp_path: Path
) -> None:
    """Upright and without a location: re-encoding would only cost quality."""
    data = photo(64, 48, ".jpg")  # libvips writes a small EXIF block, orientation 1
    assert "exif-data" in load(data).get_fields()
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.cleaned is None


async def test_ingest_turns_orientation_6_upright_and_strips_metadata(
    processor: ImageProcessor, tmp_path: Path
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


async def test_ingest_removes_gps_and_keeps_the_icc_profile(
    processor: ImageProcessor, tmp_path: Path
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


async def test_ingest_keeps_an_animations_frames_when_cleaning(
    processor: ImageProcessor, tmp_path: Path
) -> None:
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
    processor: ImageProcessor, tmp_path: Path
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
