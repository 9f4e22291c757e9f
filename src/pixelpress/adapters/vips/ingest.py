"""Reading a file safely, and readying an upload for storage.

A file's type is told from its first bytes and only that type's loader ever sees it; declared
dimensions are checked from the header before any decode. An upload that is turned by its EXIF
orientation or carries a location is rewritten upright and without EXIF, XMP and IPTC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyvips

from pixelpress.adapters.vips.pixels import AVIF_EFFORT
from pixelpress.adapters.vips.rules import check_declared, corrupt, unsupported
from pixelpress.domain.errors import InvalidInput
from pixelpress.domain.limits import Limit, too_large
from pixelpress.domain.models import ImageFormat, ImageInfo, ImageLimits, Ingested

MAGIC: list[tuple[bytes, ImageFormat]] = [
    (b"\xff\xd8\xff", ImageFormat.JPEG),
    (b"\x89PNG\r\n\x1a\n", ImageFormat.PNG),
    (b"GIF87a", ImageFormat.GIF),
    (b"GIF89a", ImageFormat.GIF),
    (b"II*\x00", ImageFormat.TIFF),
    (b"MM\x00*", ImageFormat.TIFF),
    (b"II+\x00", ImageFormat.TIFF),  # BigTIFF: 64-bit offsets, the same pages and tags
    (b"MM\x00+", ImageFormat.TIFF),
]
AVIF_BRANDS = (b"avif", b"avis")
LOADERS = {
    ImageFormat.JPEG: "jpegload",
    ImageFormat.PNG: "pngload",
    ImageFormat.WEBP: "webpload",
    ImageFormat.GIF: "gifload",
    ImageFormat.AVIF: "heifload",
    ImageFormat.TIFF: "tiffload",
}
ANIMATED = (ImageFormat.GIF, ImageFormat.WEBP)
GPS_PREFIX = "exif-ifd3-"  # EXIF's GPS directory
LOCATION_BLOCKS = ("xmp-data", "iptc-data")  # either can carry a location too
CLEAN_QUALITY = 92  # a rewritten lossy original should lose as little as it can


def sniff(head: bytes) -> ImageFormat | None:
    """The accepted type the leading bytes announce, or None. HEIC and other HEIF are not AVIF."""
    for magic, fmt in MAGIC:
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if head[4:8] == b"ftyp":  # ISO-BMFF: a major brand, a version, then compatible brands
        size = int.from_bytes(head[:4], "big")
        brands = [head[8:12]] + [head[i : i + 4] for i in range(16, min(size, len(head)), 4)]
        if any(brand in AVIF_BRANDS for brand in brands):
            return ImageFormat.AVIF
    return None


def open_as(source: Path | bytes, fmt: ImageFormat, **options: Any) -> Any:
    """The image through its own type's loader only (never libvips' guess, never SVG or PDF).
    Lazy: this reads the header; pixels decode when something asks for them."""
    if isinstance(source, Path):
        return pyvips.Operation.call(LOADERS[fmt], str(source), **options)
    return pyvips.Operation.call(LOADERS[fmt] + "_buffer", source, **options)


def head(source: Path | bytes) -> bytes:
    if isinstance(source, Path):
        with source.open("rb") as fh:
            return fh.read(512)
    return source[:512]


def orientation(image: Any) -> int:
    return int(image.get("orientation")) if image.get_typeof("orientation") else 1


def _pages(header: Any) -> int:
    return int(header.get("n-pages")) if header.get_typeof("n-pages") else 1


def _declared(header: Any, fmt: ImageFormat) -> tuple[int, int, int]:
    """Width and height of one frame as displayed, and the frame count (only animations have
    frames), from a header opened at its first frame."""
    frames = _pages(header) if fmt in ANIMATED else 1
    if orientation(header) in (5, 6, 7, 8):
        return header.height, header.width, frames
    return header.width, header.height, frames


def check_header(header: Any, fmt: ImageFormat, limits: ImageLimits) -> tuple[int, int, int]:
    """The declared size of one frame as displayed and the frame count, each within `limits`
    (TooLarge, with the limit's code, otherwise)."""
    width, height, frames = _declared(header, fmt)
    check_declared(width, height, frames, limits)
    # A TIFF's further pages are never decoded (its first is the image), but a file of
    # thousands of them is refused all the same, by the frame limit.
    if fmt is ImageFormat.TIFF and _pages(header) > limits.max_frames:
        raise too_large(Limit.FRAMES, limits.max_frames, _pages(header), counted="page count")
    return width, height, frames


def _webp_is_lossless(data: bytes) -> bool:
    """Whether a WebP's (first) bitstream is VP8L, walking the RIFF chunks."""
    offset = 12
    while offset + 8 <= len(data):
        kind = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if kind in (b"VP8L", b"VP8 "):
            return kind == b"VP8L"
        if kind == b"ANMF":  # a frame: 16 bytes of placement, then its own chunks
            return _webp_is_lossless(b"\0" * 12 + data[offset + 24 : offset + 8 + size])
        offset += 8 + size + (size & 1)
    return False


def _gif_is_complete(data: bytes) -> bool:
    """Whether a GIF's blocks run up to its trailer. giflib reads a cut file as one with fewer
    frames, without an error, so libvips cannot tell."""
    if len(data) < 13:
        return False
    pos = 13
    if data[10] & 0x80:  # global colour table
        pos += 3 * (2 << (data[10] & 7))
    while pos < len(data):
        kind = data[pos]
        if kind == 0x3B:
            return True
        if kind == 0x21:  # extension: label, then data sub-blocks
            pos += 2
        elif kind == 0x2C:  # image: descriptor, local colour table, LZW code size, sub-blocks
            if pos + 10 > len(data):
                return False
            if data[pos + 9] & 0x80:
                pos += 3 * (2 << (data[pos + 9] & 7))
            pos += 11
        else:
            return False
        while pos < len(data) and data[pos] != 0:
            pos += 1 + data[pos]
        pos += 1  # the empty sub-block that ends the list
    return False


def _has_location(header: Any) -> bool:
    fields = header.get_fields()
    return any(f.startswith(GPS_PREFIX) for f in fields) or any(
        header.get_typeof(f) for f in LOCATION_BLOCKS
    )


def read_upload(path: Path, limits: ImageLimits) -> Ingested:
    """The uploaded file checked from its bytes (see `ImageProcessor.ingest`). Blocking."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput("The uploaded file is empty.", code="empty_file", field="image")
    if size > limits.max_bytes:
        raise too_large(Limit.BYTES, limits.max_bytes, size)
    with path.open("rb") as fh:
        fmt = sniff(fh.read(512))
    if fmt is None:
        raise unsupported()
    try:
        header = open_as(path, fmt)
    except pyvips.Error as exc:
        raise corrupt() from exc
    compression = header.get_typeof("heif-compression") and header.get("heif-compression")
    if fmt is ImageFormat.AVIF and compression != "av1":
        raise unsupported()  # HEIC (HEVC) in an AVIF-branded file
    width, height, frames = check_header(header, fmt, limits)
    if fmt is ImageFormat.GIF and not _gif_is_complete(path.read_bytes()):
        raise corrupt()
    upright = orientation(header) == 1
    # Rewritten only when rotated or carrying a location: re-encoding every camera JPEG
    # (all have some EXIF) would cost quality and change its hash for nothing.
    needs_cleaning = not upright or _has_location(header)
    # Decoding streams top to bottom, except when a turn needs the whole picture at once.
    options: dict[str, Any] = {"access": "sequential" if upright else "random"}
    if frames > 1:
        options["n"] = -1  # every frame (only the animated formats' loaders know `n`)
    try:
        # Decode everything now: a truncated or corrupt body is refused here, not in a job.
        full = open_as(path, fmt, fail_on="truncated", **options)
        cleaned = _clean(path, fmt, full, frames) if needs_cleaning else None
        if cleaned is None and fmt is ImageFormat.JPEG:
            # Every byte of the entropy-coded data is still read (a cut or broken stream fails
            # the same), but the pixels come out at 1/8: half the memory, a fraction of the CPU.
            open_as(path, fmt, fail_on="truncated", shrink=8, **options).avg()
        elif cleaned is None:
            full.avg()
    except pyvips.Error as exc:
        raise corrupt() from exc
    return Ingested(ImageInfo(format=fmt, width=width, height=height, frames=frames), cleaned)


def _clean(path: Path, fmt: ImageFormat, image: Any, frames: int) -> bytes:
    """The file upright, without EXIF (GPS with it), XMP and IPTC; the ICC profile stays."""
    image = _upright(image, frames)
    options: dict[str, Any] = {"keep": "icc"}
    if fmt is ImageFormat.JPEG:
        options |= {"Q": CLEAN_QUALITY, "optimize_coding": True}
    elif fmt is ImageFormat.WEBP:
        lossless = _webp_is_lossless(path.read_bytes())
        options |= {"lossless": True} if lossless else {"Q": CLEAN_QUALITY}
    elif fmt is ImageFormat.AVIF:
        options |= {"Q": CLEAN_QUALITY, "compression": "av1", "effort": AVIF_EFFORT}
    elif fmt is ImageFormat.TIFF:
        options |= {"compression": "deflate", "predictor": "horizontal"}
    suffix = {ImageFormat.JPEG: ".jpg", ImageFormat.TIFF: ".tif"}.get(fmt, f".{fmt}")
    return bytes(image.write_to_buffer(suffix, **options))


def _upright(image: Any, frames: int) -> Any:
    """EXIF orientation applied; an animation is turned frame by frame."""
    if orientation(image) == 1:
        return image
    if frames == 1:
        return image.autorot()
    page = image.height // frames
    turned = [image.crop(0, i * page, image.width, page).autorot() for i in range(frames)]
    joined = pyvips.Image.arrayjoin(turned, across=1).copy()
    for field in ("delay", "loop"):
        if image.get_typeof(field):
            joined.set_type(image.get_typeof(field), field, image.get(field))
    joined.set_type(pyvips.GValue.gint_type, "page-height", turned[0].height)
    return joined
