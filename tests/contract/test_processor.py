"""The ImageProcessor port's contract, over every engine (tests/contract/engines.py): what ingest
accepts and refuses (with which codes), sizes and formats of renders, the limits, animations
kept or flattened, placeholders. Outputs are checked through the port itself (an engine reads
back what it wrote); the pixel-level checks are in test_processor_pixels.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import blurhash
import pytest

from pixelpress.domain.errors import InvalidInput, TooLarge, Unprocessable, UnsupportedMedia
from pixelpress.domain.models import ImageFormat, ImageInfo, ImageLimits, Rendered
from pixelpress.domain.spec import parse_spec, plan
from pixelpress.ports import ImageProcessor
from tests.contract.engines import ENGINES, Engine
from tests.images import write


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> Engine:
    return ENGINES[request.param]


@pytest.fixture
def processor(engine: Engine) -> ImageProcessor:
    return engine.make(ImageLimits())


async def read_back(processor: ImageProcessor, tmp_path: Path, data: bytes) -> ImageInfo:
    """What the engine reads in bytes it wrote: the output is the image it says it is."""
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.cleaned is None  # upright, no metadata: nothing left to clean
    return ingested.info


async def render(
    processor: ImageProcessor, tmp_path: Path, source: bytes, spec: dict[str, Any], **kw: Any
) -> Rendered:
    out = await processor.render(source, parse_spec(spec), **kw)
    info = await read_back(processor, tmp_path, out.data)
    assert (str(info.format), info.width, info.height) == (out.format, out.width, out.height)
    return out


# --- ingest ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(ImageFormat))
async def test_ingest_accepts_each_type(
    engine: Engine, processor: ImageProcessor, tmp_path: Path, fmt: ImageFormat
) -> None:
    ingested = await processor.ingest(write(tmp_path, engine.samples.image(64, 48, fmt)))
    assert ingested.info == ImageInfo(format=fmt, width=64, height=48, frames=1)
    assert ingested.cleaned is None  # nothing to fix: kept byte for byte


@pytest.mark.parametrize("fmt", list(ImageFormat))
async def test_ingest_refuses_corrupt_and_truncated_files(
    engine: Engine, processor: ImageProcessor, tmp_path: Path, fmt: ImageFormat
) -> None:
    whole = engine.samples.image(300, 300, fmt)
    for data in (engine.samples.corrupt(fmt), whole[: len(whole) // 2]):
        with pytest.raises(InvalidInput) as caught:
            await processor.ingest(write(tmp_path, data))
        assert caught.value.code == "invalid_image"


UNSUPPORTED = [
    bytes(range(256)) * 4,
    b"hello, this is plain text\n",
    b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    b"<?xml version='1.0'?><svg/>",
    b"%PDF-1.4 hello",
    b"<!doctype html><p>x",
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,  # HEIC is not AVIF
]


async def test_ingest_refuses_what_is_not_an_accepted_image(
    processor: ImageProcessor, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput) as empty:
        await processor.ingest(write(tmp_path, b""))
    assert empty.value.code == "empty_file"
    for data in UNSUPPORTED:
        with pytest.raises(UnsupportedMedia) as caught:
            await processor.ingest(write(tmp_path, data))
        assert caught.value.code == "unsupported_media_type", data[:20]
        assert "image/avif" in caught.value.details["accepted"]


async def test_ingest_limits_edges_pixels_frames_and_bytes(engine: Engine, tmp_path: Path) -> None:
    strict = engine.make(
        ImageLimits(max_edge=100, max_pixels=5_000, max_frames=2, max_bytes=50_000)
    )
    samples = engine.samples
    cases = [
        (samples.image(120, 10), "edge_too_long", 100, 120),
        (samples.image(90, 90), "too_many_pixels", 5_000, 8_100),
        (samples.image(20, 20, ImageFormat.GIF, frames=3), "too_many_frames", 2, 3),
        (samples.image(20, 20, ImageFormat.WEBP, frames=3), "too_many_frames", 2, 3),
        (b"\xff\xd8\xff" + b"\x00" * 60_000, "file_too_large", 50_000, 60_003),
    ]
    for data, code, limit, actual in cases:
        with pytest.raises(TooLarge) as caught:
            await strict.ingest(write(tmp_path, data))
        assert caught.value.code == code
        assert caught.value.details | {"what": ""} == {"limit": limit, "actual": actual, "what": ""}
        assert str(limit) in caught.value.message
    # A small file declaring a huge size is refused from its header, before any decode.
    with pytest.raises(TooLarge) as caught:
        await engine.make(ImageLimits()).ingest(
            write(tmp_path, samples.declaring(100_000, 100_000))
        )
    assert caught.value.code == "edge_too_long"
    assert caught.value.details["limit"] == ImageLimits().max_edge
    assert caught.value.details["actual"] == 100_000


async def test_ingest_turns_the_image_upright_and_strips_its_location(
    engine: Engine, processor: ImageProcessor, tmp_path: Path
) -> None:
    data = engine.samples.image(200, 100, ImageFormat.JPEG, orientation=6, location=True)
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.info == ImageInfo(ImageFormat.JPEG, 100, 200)  # as displayed
    assert ingested.cleaned is not None
    assert await read_back(processor, tmp_path, ingested.cleaned) == ingested.info  # upright now


async def test_ingest_strips_a_location_from_an_upright_image(
    engine: Engine, processor: ImageProcessor, tmp_path: Path
) -> None:
    data = engine.samples.image(80, 60, ImageFormat.PNG, location=True)
    ingested = await processor.ingest(write(tmp_path, data))
    assert ingested.info == ImageInfo(ImageFormat.PNG, 80, 60)
    assert ingested.cleaned is not None
    assert await read_back(processor, tmp_path, ingested.cleaned) == ingested.info


async def test_ingest_animations(engine: Engine, processor: ImageProcessor, tmp_path: Path) -> None:
    gif = engine.samples.image(20, 20, ImageFormat.GIF, frames=3)
    ingested = await processor.ingest(write(tmp_path, gif))
    assert ingested.info == ImageInfo(ImageFormat.GIF, 20, 20, frames=3)
    assert ingested.cleaned is None
    webp = engine.samples.image(20, 20, ImageFormat.WEBP, frames=3, location=True)
    ingested = await processor.ingest(write(tmp_path, webp))
    assert ingested.info == ImageInfo(ImageFormat.WEBP, 20, 20, frames=3)
    assert ingested.cleaned is not None  # the GPS goes, the frames stay
    assert await read_back(processor, tmp_path, ingested.cleaned) == ingested.info
    turned = engine.samples.image(30, 20, ImageFormat.WEBP, frames=3, orientation=6)
    ingested = await processor.ingest(write(tmp_path, turned))
    assert ingested.info == ImageInfo(ImageFormat.WEBP, 20, 30, frames=3)  # frame by frame
    assert ingested.cleaned is not None
    assert await read_back(processor, tmp_path, ingested.cleaned) == ingested.info


# --- render ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif", "gif"])
async def test_each_output_format_encodes(
    engine: Engine, processor: ImageProcessor, tmp_path: Path, fmt: str
) -> None:
    source = engine.samples.image(120, 80, ImageFormat.JPEG, location=True)
    out = await render(processor, tmp_path, source, {"format": fmt})
    assert (out.format, out.width, out.height, out.flattened) == (fmt, 120, 80, False)


async def test_the_source_format_is_kept_and_tiff_becomes_jpeg(
    engine: Engine, processor: ImageProcessor, tmp_path: Path
) -> None:
    for fmt, expected in ((ImageFormat.PNG, "png"), (ImageFormat.WEBP, "webp"),
                          (ImageFormat.TIFF, "jpeg")):  # fmt: skip
        out = await render(processor, tmp_path, engine.samples.image(60, 40, fmt), {"rotate": 90})
        assert (out.format, out.width, out.height) == (expected, 40, 60)


async def test_resize_fits(engine: Engine, processor: ImageProcessor, tmp_path: Path) -> None:
    source = engine.samples.image(400, 200, ImageFormat.JPEG)
    expected = {"cover": (100, 100), "contain": (100, 100), "fill": (100, 100),
                "inside": (100, 50), "outside": (200, 100)}  # fmt: skip
    for fit, size in expected.items():
        spec = {"resize": {"width": 100, "height": 100, "fit": fit}, "format": "png"}
        out = await render(processor, tmp_path, source, spec)
        assert (out.width, out.height) == size, fit
    one_edge = {"resize": "x50"}
    auto = {"resize": {"width": 90, "height": 50, "gravity": "auto"}}
    for spec, size in (
        (one_edge, (100, 50)),
        ({"resize": "100x100"}, (100, 100)),
        (auto, (90, 50)),
    ):
        out = await render(processor, tmp_path, source, spec)
        assert (out.width, out.height) == size


async def test_crop_then_resize(engine: Engine, processor: ImageProcessor, tmp_path: Path) -> None:
    source = engine.samples.image(400, 400, ImageFormat.JPEG)
    crop = {"x": 0, "y": 0, "width": 40, "height": 30}
    out = await render(processor, tmp_path, source, {"crop": crop, "format": "png"})
    assert (out.width, out.height) == (40, 30)
    crop = {"x": 0, "y": 0, "width": 100, "height": 100}
    out = await render(processor, tmp_path, source, {"crop": crop, "resize": "20x"})
    assert (out.width, out.height) == (20, 20)


async def test_turns_and_flips_keep_or_swap_the_edges(
    engine: Engine, processor: ImageProcessor, tmp_path: Path
) -> None:
    source = engine.samples.image(200, 100, ImageFormat.JPEG)
    for spec, size in (({"mirror": True}, (200, 100)), ({"flip": True}, (200, 100)),
                       ({"rotate": 90}, (100, 200)), ({"rotate": -90}, (100, 200)),
                       ({"rotate": 180}, (200, 100))):  # fmt: skip
        out = await render(processor, tmp_path, source, spec)
        assert (out.width, out.height) == size, spec


@pytest.mark.parametrize(
    "spec",
    [
        {"rotate": 30},
        {"rotate": 200},
        {"rotate": 17.5, "resize": "61x"},
        {"crop": {"x": 3, "y": 5, "width": 71, "height": 33}, "rotate": 333.3},
        {"resize": {"width": 37, "height": 91, "fit": "outside"}, "rotate": 45},
        {"resize": {"width": 37, "height": 91, "fit": "contain"}, "rotate": 10},
        {"filters": {"grayscale": True, "sepia": True, "blur": 2, "sharpen": True}},
        {"watermark": {"text": "PIXELPRESS", "position": "top-left"}, "format": "webp"},
    ],
)
async def test_render_agrees_with_the_plan(
    engine: Engine, processor: ImageProcessor, tmp_path: Path, spec: dict[str, Any]
) -> None:
    expected = plan(
        parse_spec(spec), width=100, height=50, source_format="png", limits=ImageLimits()
    )
    source = engine.samples.image(100, 50, ImageFormat.PNG)
    out = await render(processor, tmp_path, source, spec)
    assert (out.width, out.height, out.format) == (expected.width, expected.height, expected.format)


async def test_turns_and_flips_after_shrink_on_load(
    engine: Engine, processor: ImageProcessor, tmp_path: Path
) -> None:
    # Big enough that reading a streamed decode out of order fails (as it did in libvips).
    source = engine.samples.image(1200, 900, ImageFormat.JPEG)
    for spec in ({"resize": "800x600", "rotate": 30}, {"resize": "800x", "flip": True},
                 {"resize": "x600", "rotate": 90}):  # fmt: skip
        expected = plan(parse_spec(spec), width=1200, height=900, source_format="jpeg",
                        limits=ImageLimits())  # fmt: skip
        out = await render(processor, tmp_path, source, spec)
        assert (out.width, out.height) == (expected.width, expected.height)


async def test_output_limits_apply_to_the_whole_chain(engine: Engine) -> None:
    small = engine.make(ImageLimits(max_edge=150, max_pixels=20_000))
    source = engine.samples.image(100, 100, ImageFormat.JPEG)
    await small.render(source, parse_spec({"resize": "140x140"}))  # within the limits
    with pytest.raises(Unprocessable) as caught:
        await small.render(source, parse_spec({"resize": "140x140", "rotate": 45}))
    assert caught.value.code == "edge_too_long"
    assert caught.value.details[0]["field"] == "rotate"
    assert caught.value.details[0]["limit"] == 150
    with pytest.raises(Unprocessable) as caught:
        await small.render(source, parse_spec({"resize": "145x145"}))
    assert caught.value.code == "too_many_pixels"
    assert caught.value.details[0]["limit"] == 20_000
    # A source past the limits is refused as an upload would be.
    with pytest.raises(TooLarge) as refused:
        await small.render(engine.samples.image(160, 20), parse_spec({"rotate": 90}))
    assert refused.value.code == "edge_too_long"


@pytest.mark.parametrize("fmt", [ImageFormat.GIF, ImageFormat.WEBP])
async def test_animations_keep_their_frames_or_say_they_were_flattened(
    engine: Engine, processor: ImageProcessor, tmp_path: Path, fmt: ImageFormat
) -> None:
    source = engine.samples.image(20, 20, fmt, frames=3)
    for spec in ({"resize": "10x"}, {"resize": "10x", "format": "webp"},
                 {"filters": {"grayscale": True}, "format": "gif"}):  # fmt: skip
        kept = await processor.render(source, parse_spec(spec))
        assert not kept.flattened, spec
        info = await read_back(processor, tmp_path, kept.data)
        assert (str(info.format), info.frames) == (kept.format, 3)
        assert (info.width, info.height) == (kept.width, kept.height)
    corner = {"x": 0, "y": 0, "width": 10, "height": 10}
    flattening = [
        {"rotate": 30},
        {"resize": "10x", "format": "png"},
        {"crop": corner},
        {"filters": {"blur": 1}},
        {"watermark": {"text": "x"}},
    ]
    for spec in flattening:
        flat = await processor.render(source, parse_spec(spec))
        assert flat.flattened, spec
        info = await read_back(processor, tmp_path, flat.data)
        assert (str(info.format), info.frames) == (flat.format, 1)
    turned = await render(processor, tmp_path, source, {"rotate": 30})
    assert (turned.format, turned.width, turned.height) == (str(fmt), 27, 27)


async def test_render_errors_are_domain_errors(
    engine: Engine, processor: ImageProcessor, tmp_path: Path
) -> None:
    whole = engine.samples.image(300, 300, ImageFormat.JPEG)
    unreadable = [engine.samples.corrupt(ImageFormat.JPEG), whole[: len(whole) // 2], b"<svg/>"]
    for source in unreadable:
        with pytest.raises(InvalidInput) as caught:
            await processor.render(source, parse_spec({"rotate": 90}))
        assert caught.value.code == "invalid_image"
    outside = parse_spec({"crop": {"x": 40, "y": 0, "width": 20, "height": 10}})
    with pytest.raises(Unprocessable) as crop:
        await processor.render(engine.samples.image(50, 50, ImageFormat.JPEG), outside)
    assert crop.value.details[0]["field"] == "crop"


async def test_image_watermarks_need_their_image(
    engine: Engine, processor: ImageProcessor, tmp_path: Path
) -> None:
    source = engine.samples.image(120, 90, ImageFormat.PNG)
    spec = {"watermark": "logo", "format": "png"}
    logo = engine.samples.solid(16, 16, (0, 0, 255))
    out = await render(processor, tmp_path, source, spec, watermark=logo)
    assert (out.width, out.height) == (120, 90)
    with pytest.raises(Unprocessable) as missing:
        await processor.render(source, parse_spec(spec))
    assert missing.value.code == "watermark_missing"
    with pytest.raises(InvalidInput) as unreadable:
        await processor.render(source, parse_spec(spec), watermark=b"not an image")
    assert unreadable.value.code == "invalid_image"


# --- placeholder ----------------------------------------------------------------------------------


async def test_placeholder_is_the_image_blurred_to_a_few_colours(
    engine: Engine, processor: ImageProcessor, tmp_path: Path
) -> None:
    red = engine.samples.solid(300, 200, (200, 30, 30))
    for source in (red, write(tmp_path, red)):
        placeholder = await processor.placeholder(source)
        assert placeholder.dominant_color == "#c81e1e"
        assert 20 <= len(placeholder.blurhash) <= 40
        pixels = [p for row in blurhash.decode(placeholder.blurhash, 16, 12) for p in row]
        average = [sum(p[band] for p in pixels) / len(pixels) for band in range(3)]
        assert max(abs(a - b) for a, b in zip(average, (200, 30, 30), strict=True)) < 8
    with pytest.raises(InvalidInput) as caught:
        await processor.placeholder(engine.samples.corrupt(ImageFormat.PNG))
    assert caught.value.code == "invalid_image"
