"""ImageProcessor over pyvips (libvips from the pyvips-binary wheel).

Every call runs in a bounded thread pool: libvips releases the GIL, so threads use every core
while the event loop stays free. A file's type is told from its first bytes and only that type's
loader ever sees it; declared dimensions are checked from the header before any decode.

Animated GIF and WebP keep their frames through chains that work frame by frame (see
`vips_animation`); other chains render the first frame and say so (`Rendered.flattened`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import pyvips

from pixelpress.adapters import placeholder_blurhash
from pixelpress.adapters.vips_animation import frame_height, keeps_frames, load_animated
from pixelpress.adapters.vips_pixels import (
    AVIF_EFFORT,
    apply_filters,
    composite,
    encode,
    image_mark,
    pad,
    rotate,
    srgb,
    text_mark,
)
from pixelpress.domain.errors import InvalidInput, Unprocessable, UnsupportedMedia
from pixelpress.domain.limits import Limit, too_large
from pixelpress.domain.models import (
    MEDIA_TYPES,
    ImageFormat,
    ImageInfo,
    ImageLimits,
    Ingested,
    Placeholder,
    Rendered,
)
from pixelpress.domain.spec import (
    Fit,
    Gravity,
    TransformSpec,
    check_output,
    plan,
    resize_geometry,
)

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
ACCEPTED = sorted(MEDIA_TYPES.values())
GPS_PREFIX = "exif-ifd3-"  # EXIF's GPS directory
LOCATION_BLOCKS = ("xmp-data", "iptc-data")  # either can carry a location too
FRAME_FIELDS = ("page-height", "n-pages", "delay", "loop", "gif-palette")
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


def _unsupported() -> UnsupportedMedia:
    return UnsupportedMedia(
        "This file type is not accepted. Send a JPEG, PNG, WebP, GIF, AVIF or TIFF image.",
        code="unsupported_media_type",
        details={"accepted": ACCEPTED},
    )


def _corrupt() -> InvalidInput:
    return InvalidInput(
        "The image is corrupt or truncated and cannot be read.", code="invalid_image"
    )


def _open(source: Path | bytes, fmt: ImageFormat, **options: Any) -> Any:
    """The image through its own type's loader only (never libvips' guess, never SVG or PDF).
    Lazy: this reads the header; pixels decode when something asks for them."""
    if isinstance(source, Path):
        return pyvips.Operation.call(LOADERS[fmt], str(source), **options)
    return pyvips.Operation.call(LOADERS[fmt] + "_buffer", source, **options)


def _head(source: Path | bytes) -> bytes:
    if isinstance(source, Path):
        with source.open("rb") as fh:
            return fh.read(512)
    return source[:512]


def _thumbnail(source: Path | bytes, width: int, **options: Any) -> Any:
    """Shrink-on-load from a file (read as libvips needs it) or from bytes already in memory."""
    if isinstance(source, Path):
        return pyvips.Image.thumbnail(str(source), width, **options)
    return pyvips.Image.thumbnail_buffer(source, width, **options)


def _orientation(image: Any) -> int:
    return int(image.get("orientation")) if image.get_typeof("orientation") else 1


def _pages(header: Any) -> int:
    return int(header.get("n-pages")) if header.get_typeof("n-pages") else 1


def _declared(header: Any, fmt: ImageFormat) -> tuple[int, int, int]:
    """Width and height of one frame as displayed, and the frame count (only animations have
    frames), from a header opened at its first frame."""
    frames = _pages(header) if fmt in ANIMATED else 1
    if _orientation(header) in (5, 6, 7, 8):
        return header.height, header.width, frames
    return header.width, header.height, frames


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


def _libvips_warnings_only() -> None:
    """libvips reports the choices of every operation at INFO, about ten lines a render, and
    pyvips hands each one to Python logging from libvips' threads (taking the GIL). Only its
    warnings and errors reach our logs; GLib's default handler drops the rest unread. pyvips
    has no setting for this, so its handler is registered again with fewer levels; should its
    internals change, the INFO lines are merely filtered by the logger's level."""
    logging.getLogger("pyvips").setLevel(logging.WARNING)
    try:  # everything looked up before anything changes: a renamed internal changes nothing
        flags = pyvips.GLogLevelFlags
        levels = (
            flags.LEVEL_MESSAGE
            | flags.LEVEL_WARNING
            | flags.LEVEL_CRITICAL
            | flags.LEVEL_ERROR
            | flags.FLAG_FATAL
            | flags.FLAG_RECURSION
        )
        set_handler, callback, null = (
            pyvips.glib_lib.g_log_set_handler,
            pyvips._log_handler_cb,
            pyvips.ffi.NULL,
        )
        remove, installed = pyvips._remove_log_handler, pyvips._log_handler_id
    except AttributeError:  # pragma: no cover - a pyvips without these internals
        return
    if installed:
        remove()
        pyvips._log_handler_id = set_handler(b"VIPS", levels, callback, null)


class VipsImageProcessor:
    def __init__(
        self,
        limits: ImageLimits,
        *,
        threads: int,
        font: str = "sans bold",
        font_file: str | None = None,
    ) -> None:
        """`font` is a Pango font name found through fontconfig; `font_file` (a .ttf/.otf path)
        makes text watermarks work where the system has no fonts installed."""
        self.limits = limits
        self._limiter = anyio.CapacityLimiter(threads)
        self._font = font
        self._font_file = font_file
        pyvips.block_untrusted_set(True)  # no loaders that were not fuzzed against hostile input
        pyvips.operation_block_set("VipsForeignLoadSvg", True)  # SVG can fetch and script
        pyvips.cache_set_max(0)  # every input is new: the operation cache would only hold memory
        _libvips_warnings_only()

    async def ingest(self, path: Path) -> Ingested:
        return await anyio.to_thread.run_sync(self._ingest, path, limiter=self._limiter)

    async def placeholder(self, source: bytes | Path) -> Placeholder:
        try:
            return await anyio.to_thread.run_sync(
                placeholder_blurhash.compute, source, limiter=self._limiter
            )
        except pyvips.Error as exc:
            raise _corrupt() from exc

    async def render(
        self, source: bytes | Path, spec: TransformSpec, *, watermark: bytes | None = None
    ) -> Rendered:
        return await anyio.to_thread.run_sync(
            self._render, source, spec, watermark, limiter=self._limiter
        )

    # --- ingest --------------------------------------------------------------------------------

    def _ingest(self, path: Path) -> Ingested:
        size = path.stat().st_size
        if size == 0:
            raise InvalidInput("The uploaded file is empty.", code="empty_file", field="image")
        if size > self.limits.max_bytes:
            raise too_large(Limit.BYTES, self.limits.max_bytes, size)
        with path.open("rb") as fh:
            fmt = sniff(fh.read(512))
        if fmt is None:
            raise _unsupported()
        try:
            header = _open(path, fmt)
        except pyvips.Error as exc:
            raise _corrupt() from exc
        compression = header.get_typeof("heif-compression") and header.get("heif-compression")
        if fmt is ImageFormat.AVIF and compression != "av1":
            raise _unsupported()  # HEIC (HEVC) in an AVIF-branded file
        width, height, frames = self._check_header(header, fmt)
        if fmt is ImageFormat.GIF and not _gif_is_complete(path.read_bytes()):
            raise _corrupt()
        upright = _orientation(header) == 1
        # Rewritten only when rotated or carrying a location: re-encoding every camera JPEG
        # (all have some EXIF) would cost quality and change its hash for nothing.
        needs_cleaning = not upright or _has_location(header)
        # Decoding streams top to bottom, except when a turn needs the whole picture at once.
        options: dict[str, Any] = {"access": "sequential" if upright else "random"}
        if frames > 1:
            options["n"] = -1  # every frame (only the animated formats' loaders know `n`)
        try:
            # Decode everything now: a truncated or corrupt body is refused here, not in a job.
            full = _open(path, fmt, fail_on="truncated", **options)
            cleaned = self._clean(path, fmt, full, frames) if needs_cleaning else None
            if cleaned is None:
                full.avg()
        except pyvips.Error as exc:
            raise _corrupt() from exc
        return Ingested(ImageInfo(format=fmt, width=width, height=height, frames=frames), cleaned)

    def _check_header(self, header: Any, fmt: ImageFormat) -> tuple[int, int, int]:
        width, height, frames = _declared(header, fmt)
        limits = self.limits
        if max(width, height) > limits.max_edge:
            raise too_large(Limit.EDGE, limits.max_edge, max(width, height))
        if width * height > limits.max_pixels:
            raise too_large(Limit.PIXELS, limits.max_pixels, width * height)
        if frames > limits.max_frames:
            raise too_large(Limit.FRAMES, limits.max_frames, frames)
        # A TIFF's further pages are never decoded (its first is the image), but a file of
        # thousands of them is refused all the same, by the frame limit.
        if fmt is ImageFormat.TIFF and _pages(header) > limits.max_frames:
            raise too_large(Limit.FRAMES, limits.max_frames, _pages(header), counted="page count")
        return width, height, frames

    def _clean(self, path: Path, fmt: ImageFormat, image: Any, frames: int) -> bytes:
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

    # --- render --------------------------------------------------------------------------------

    def _render(
        self, source: bytes | Path, spec: TransformSpec, watermark: bytes | None
    ) -> Rendered:
        try:
            return self._apply(source, spec, watermark)
        except pyvips.Error as exc:
            # libvips' own message can name temporary files: it stays out of the answer.
            raise InvalidInput(
                "The image could not be processed; it may be corrupt.", code="invalid_image"
            ) from exc

    def _apply(
        self, source: bytes | Path, spec: TransformSpec, watermark: bytes | None
    ) -> Rendered:
        fmt = sniff(_head(source))
        if fmt is None:
            raise InvalidInput("The stored image is not of an accepted type.", code="invalid_image")
        width, height, frames = self._check_header(_open(source, fmt), fmt)
        target = plan(spec, width=width, height=height, source_format=fmt, limits=self.limits)
        if frames > 1 and keeps_frames(spec, target.format):
            strip = apply_filters(srgb(load_animated(source, spec, width, height)), spec)
            data = encode(strip, target.format, spec.quality_for(target.format))
            return Rendered(data, target.format, strip.width, frame_height(strip))
        image = srgb(_single_frame(self._load_sized(source, fmt, spec, width, height)))
        if spec.rotate:
            image = rotate(image, spec.rotate)
        if spec.flip:
            image = image.flipver()
        if spec.mirror:
            image = image.fliphor()
        image = apply_filters(image, spec)
        if (image.width, image.height) != (target.width, target.height):
            # libvips rounds an arbitrary rotation's canvas its own way: settle on the plan.
            image = image.gravity("centre", target.width, target.height, extend="background")
        if spec.watermark is not None:
            if spec.watermark.text is not None:
                mark = text_mark(spec.watermark.text, image.width, image.height,
                                 font=self._font, font_file=self._font_file)  # fmt: skip
            elif watermark is None:
                raise Unprocessable("The watermark image is missing.", code="watermark_missing")
            else:
                mark = self._image_mark(watermark, image.width, image.height)
            image = composite(image, mark, spec.watermark.position, spec.watermark.opacity)
        check_output(image.width, image.height, "transformations", self.limits)
        data = encode(image, target.format, spec.quality_for(target.format))
        return Rendered(data, target.format, image.width, image.height, flattened=frames > 1)

    def _load_sized(
        self, source: bytes | Path, fmt: ImageFormat, spec: TransformSpec, width: int, height: int
    ) -> Any:
        """Upright, cropped and resized: the steps that decide which pixels get decoded."""
        resize = spec.resize
        if resize is not None and spec.crop is None:
            # Shrink on load: a JPEG or WebP decodes straight at a fraction of its size.
            g = resize_geometry(resize, width, height)
            image = _thumbnail(
                source, g.scaled_width, height=g.scaled_height, size="force", fail_on="truncated"
            )
            if spec.rotate or spec.flip:
                # thumbnail streams its source, and turning or flipping reads out of order: hold
                # the scaled image (it is within the output limits) in memory instead.
                image = image.copy_memory()
        else:
            image = _open(source, fmt, fail_on="truncated").autorot()
            if spec.crop is not None:
                c = spec.crop
                image = image.crop(c.x, c.y, c.width, c.height)
            if resize is None:
                return image
            g = resize_geometry(resize, image.width, image.height)
            image = image.thumbnail_image(g.scaled_width, height=g.scaled_height, size="force")
        if resize.fit is Fit.COVER and (g.scaled_width, g.scaled_height) != (g.width, g.height):
            if resize.gravity is Gravity.AUTO:
                # smartcrop reads the picture twice (to choose, then to cut): from memory.
                image = image.copy_memory().smartcrop(g.width, g.height, interesting="attention")
            else:
                left, top = _offsets(
                    resize.gravity, g.scaled_width - g.width, g.scaled_height - g.height
                )
                image = image.crop(left, top, g.width, g.height)
        elif resize.fit is Fit.CONTAIN:
            image = pad(srgb(image), g.width, g.height)
        return image

    def _image_mark(self, data: bytes, width: int, height: int) -> Any:
        fmt = sniff(data[:512])
        if fmt is None:
            raise InvalidInput("The watermark is not an accepted image.", code="invalid_image")
        self._check_header(_open(data, fmt), fmt)
        return image_mark(data, width, height)


def _offsets(gravity: Gravity, spare_x: int, spare_y: int) -> tuple[int, int]:
    """Where a cover crop starts, given how much the scaled image has to spare."""
    name = str(gravity)
    left = 0 if "left" in name else spare_x if "right" in name else spare_x // 2
    top = 0 if "top" in name else spare_y if "bottom" in name else spare_y // 2
    return left, top


def _upright(image: Any, frames: int) -> Any:
    """EXIF orientation applied; an animation is turned frame by frame."""
    if _orientation(image) == 1:
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


def _single_frame(image: Any) -> Any:
    """Without the animation fields of the source's first frame: the output is one image."""
    present = [field for field in FRAME_FIELDS if image.get_typeof(field)]
    if not present:
        return image
    image = image.copy()
    for field in present:
        image.remove(field)
    return image
