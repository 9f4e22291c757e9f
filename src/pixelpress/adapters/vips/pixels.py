"""Pixel operations of the pyvips processor (adapters/vips/): colour, rotation,
filters, watermarks and encoding. Images are pyvips images; none of this crosses a port."""

from __future__ import annotations

import html
from typing import Any

import pyvips

from pixelpress.domain.spec import OutputFormat, Position, TransformSpec

SEPIA = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]
SHARPEN_SIGMA = 1.5  # libvips' 0.5 suits thumbnails; this also shows on full-size images
MARGIN = 0.03  # of the shorter output edge, around a watermark
MARK_WIDTH = 0.25  # an image watermark's share of the output width
SHADOW_ALPHA = 0.6  # a text watermark's shadow, relative to the text: readable on white too
OPTIMIZE_MAX_PIXELS = 2_000_000  # JPEG masters up to this get optimised Huffman tables too
AVIF_EFFORT = 1  # at equal size about WebP's CPU cost; effort 3 is 4.5x (bench/encode_cost.py)
TRANSPARENT = [0, 0, 0, 0]
BLACK = [0, 0, 0]


def has_alpha(image: Any) -> bool:
    return bool(image.hasalpha())


def srgb(image: Any) -> Any:
    """8-bit sRGB (plus alpha): embedded profiles applied, CMYK, grey and 16-bit converted."""
    if image.get_typeof("icc-profile-data"):
        try:
            image = image.icc_transform("srgb", embedded=True, intent="perceptual")
        except pyvips.Error:  # a broken profile: the plain conversion is the best we can do
            image = image.colourspace("srgb")
    elif image.interpretation != "srgb":
        image = image.colourspace("srgb")
    return image.cast("uchar") if image.format != "uchar" else image


def with_alpha(image: Any) -> Any:
    return image if has_alpha(image) else image.bandjoin(255)


def pad(image: Any, width: int, height: int) -> Any:
    """Centred on a transparent width x height canvas (JPEG flattens it to black)."""
    left, top = (width - image.width) // 2, (height - image.height) // 2
    return with_alpha(image).embed(
        left, top, width, height, extend="background", background=TRANSPARENT
    )


def rotate(image: Any, degrees: float) -> Any:
    """Clockwise. Right angles are exact; others grow the canvas, with transparent corners."""
    if degrees % 90 == 0:
        return image.rot({90: "d90", 180: "d180", 270: "d270"}[int(degrees)])
    return with_alpha(image).rotate(degrees, background=TRANSPARENT)


def apply_filters(image: Any, spec: TransformSpec) -> Any:
    """grayscale, sepia, blur, sharpen, in that order, on the colour bands (alpha untouched)."""
    if not (spec.grayscale or spec.sepia or spec.blur is not None or spec.sharpen):
        return image
    alpha = image.extract_band(image.bands - 1) if has_alpha(image) else None
    colour = image.extract_band(0, n=image.bands - 1) if alpha is not None else image
    if spec.grayscale:
        colour = colour.colourspace("b-w").colourspace("srgb")
    if spec.sepia:
        colour = colour.recomb(SEPIA).cast("uchar")  # the cast clips the brights at 255
    if spec.blur is not None:
        colour = colour.gaussblur(spec.blur)
    if spec.sharpen:
        colour = colour.sharpen(sigma=SHARPEN_SIGMA)
    colour = colour.cast("uchar").copy(interpretation="srgb")
    return colour.bandjoin(alpha) if alpha is not None else colour


def text_mark(text: str, width: int, height: int, *, font: str, font_file: str | None) -> Any:
    """White text with a dark shadow, fitted into a third of the width and a tenth of the
    height, as an RGBA image."""
    options: dict[str, Any] = {"font": font, "width": max(8, width // 3)}
    if font_file:
        options["fontfile"] = font_file
    # Pango reads markup: escaped, a user's "<span size=...>" stays text and cannot blow up.
    mask = pyvips.Image.text(html.escape(text), height=max(8, height // 10), **options)
    offset = max(1, mask.height // 12)
    size = (mask.width + offset, mask.height + offset)
    text_alpha = mask.embed(0, 0, *size)
    shadow_alpha = (mask * SHADOW_ALPHA).cast("uchar").embed(offset, offset, *size)
    white = text_alpha.new_from_image([255, 255, 255]).copy(interpretation="srgb")
    black = text_alpha.new_from_image(BLACK).copy(interpretation="srgb")
    layered = black.bandjoin(shadow_alpha).composite2(white.bandjoin(text_alpha), "over")
    return layered.cast("uchar").copy(interpretation="srgb")


def image_mark(data: bytes, width: int, height: int) -> Any:
    """Another image, scaled to a quarter of the output width (and to fit its height)."""
    margin = _margin(width, height)
    mark = pyvips.Image.thumbnail_buffer(
        data, max(1, int(width * MARK_WIDTH)), height=max(1, height - 2 * margin)
    )
    return with_alpha(srgb(mark))


def _margin(width: int, height: int) -> int:
    return int(min(width, height) * MARGIN)


def composite(image: Any, mark: Any, position: Position, opacity: float) -> Any:
    """`mark` (RGBA) over `image` at `position`, `margin` away from the edges it is near."""
    if mark.width > image.width or mark.height > image.height:
        mark = mark.thumbnail_image(image.width, height=image.height)
    mark = mark.extract_band(0, n=3).bandjoin((mark[3] * opacity).cast("uchar"))
    margin = _margin(image.width, image.height)
    vertical, _, horizontal = str(position).rpartition("-")
    if not vertical and horizontal in ("top", "bottom"):  # "top", "bottom": centred across
        vertical, horizontal = horizontal, "center"
    x = {"left": margin, "right": image.width - mark.width - margin}.get(
        horizontal, (image.width - mark.width) // 2
    )
    y = {"top": margin, "bottom": image.height - mark.height - margin}.get(
        vertical, (image.height - mark.height) // 2
    )
    x, y = max(0, min(x, image.width - mark.width)), max(0, min(y, image.height - mark.height))
    out = with_alpha(image).composite2(mark, "over", x=x, y=y).cast("uchar")
    out = out.copy(interpretation="srgb")
    return out if has_alpha(image) else out.extract_band(0, n=3)


def encode(image: Any, fmt: OutputFormat, quality: int | None, *, lean: bool = False) -> bytes:
    """Encoded without any metadata (the pixels are sRGB, which every viewer assumes). `lean`:
    a big JPEG master is written without optimised Huffman tables (see below)."""
    if fmt is OutputFormat.JPEG and has_alpha(image):
        image = image.flatten(background=BLACK)
    image = image.cast("uchar").copy(interpretation="srgb")
    options: dict[str, Any] = {"keep": "none"}
    if fmt is OutputFormat.JPEG:
        # Baseline, not progressive: libvips shrinks a baseline JPEG while decoding it (about
        # three times faster from a rendition), and thumbnails gain nothing from progressive.
        # Optimised Huffman tables (6 to 9 % fewer bytes) keep every DCT coefficient in memory
        # until the end, about 10 bytes a pixel (32 MB for a 2048 px rendition): every output
        # a user gets has them; a big rendition, only ever read back by Pixelpress, does not.
        optimize = not lean or image.width * image.height <= OPTIMIZE_MAX_PIXELS
        options |= {"Q": quality, "optimize_coding": optimize}
    elif fmt is OutputFormat.WEBP:
        options |= {"Q": quality, "effort": 4}
    elif fmt is OutputFormat.AVIF:
        options |= {"Q": quality, "effort": AVIF_EFFORT, "compression": "av1"}
    elif fmt is OutputFormat.PNG:
        options |= {"compression": 6}
        if quality is not None:  # a quality asks for a quantised palette: much smaller files
            options |= {"palette": True, "Q": quality}
    suffix = ".jpg" if fmt is OutputFormat.JPEG else f".{fmt}"
    return bytes(image.write_to_buffer(suffix, **options))
