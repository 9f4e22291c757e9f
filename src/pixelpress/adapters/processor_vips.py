"""ImageProcessor over pyvips (libvips from the pyvips-binary wheel).

Every call runs in a bounded thread pool: libvips releases the GIL, so threads use every core
while the event loop stays free. Inputs are checked from their header before any decode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pyvips

from pixelpress.domain.errors import InvalidInput, TooLarge, Unprocessable, UnsupportedMedia
from pixelpress.domain.models import (
    MEDIA_TYPES,
    ImageFormat,
    ImageInfo,
    ImageLimits,
    Ingested,
    Rendered,
)
from pixelpress.domain.spec import Fit, OutputFormat, Position, TransformSpec, plan

# What we accept, told from the first bytes (never from a name or a declared type).
MAGIC: list[tuple[int, bytes, ImageFormat]] = [
    (0, b"\xff\xd8\xff", ImageFormat.JPEG),
    (0, b"\x89PNG\r\n\x1a\n", ImageFormat.PNG),
    (0, b"GIF87a", ImageFormat.GIF),
    (0, b"GIF89a", ImageFormat.GIF),
    (0, b"II*\x00", ImageFormat.TIFF),
    (0, b"MM\x00*", ImageFormat.TIFF),
]
AVIF_BRANDS = (b"avif", b"avis")
ACCEPTED = sorted(MEDIA_TYPES.values())
GPS_PREFIX = "exif-ifd3-"  # EXIF's GPS directory
LOCATION_BLOCKS = ("xmp-data", "iptc-data")  # either can carry a location too
SEPIA = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]
MARGIN = 0.03  # of the shorter output edge, around a watermark
SHARPEN_SIGMA = 1.5  # libvips' 0.5 suits thumbnails only; this shows on full-size images too
AVIF_EFFORT = 2  # libvips' default (4) costs several times more for the same size


def sniff(head: bytes) -> ImageFormat | None:
    for offset, magic, fmt in MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if head[4:8] == b"ftyp":
        # ISO-BMFF: the major brand, then compatible brands; HEIC is not AVIF.
        size = int.from_bytes(head[:4], "big")
        brands = [head[8:12]] + [head[i : i + 4] for i in range(16, min(size, len(head)), 4)]
        if any(b in AVIF_BRANDS for b in brands):
            return ImageFormat.AVIF
    return None


def _unsupported() -> UnsupportedMedia:
    return UnsupportedMedia(
        "This file type is not accepted. Send JPEG, PNG, WebP, GIF, AVIF or TIFF.",
        code="unsupported_media_type",
        details={"accepted": ACCEPTED},
    )


def _corrupt(exc: Exception | None = None) -> InvalidInput:
    return InvalidInput(
        "The image is corrupt or truncated and cannot be read.", code="invalid_image"
    )


def _too_large(what: str, limit: int, actual: int) -> TooLarge:
    return TooLarge(
        f"The image's {what} ({actual}) passes the limit of {limit}.",
        code="image_too_large",
        details={"limit": limit, "actual": actual, "what": what},
    )


def _needs_cleaning(header: Any) -> bool:
    """Rotated by EXIF, or carrying a location: then the stored original is rewritten."""
    orientation = header.get("orientation") if header.get_typeof("orientation") else 1
    fields = header.get_fields()
    return (
        orientation != 1
        or any(f.startswith(GPS_PREFIX) for f in fields)
        or any(f in LOCATION_BLOCKS for f in fields)
    )


def _upright(image: Any) -> tuple[int, int]:
    orientation = image.get("orientation") if image.get_typeof("orientation") else 1
    if orientation in (5, 6, 7, 8):
        return image.height, image.width
    return image.width, image.height


class VipsImageProcessor:
    def __init__(self, limits: ImageLimits, *, threads: int) -> None:
        self.limits = limits
        self._limiter = anyio.CapacityLimiter(threads)
        pyvips.block_untrusted_set(True)  # no loaders that were not fuzzed for hostile input
        pyvips.cache_set_max(0)  # every input is new: the operation cache only holds memory

    async def ingest(self, path: Path) -> Ingested:
        return await anyio.to_thread.run_sync(self._ingest, path, limiter=self._limiter)

    async def render(
        self, source: bytes, spec: TransformSpec, *, watermark: bytes | None = None
    ) -> Rendered:
        return await anyio.to_thread.run_sync(
            self._render, source, spec, watermark, limiter=self._limiter
        )

    # --- ingest --------------------------------------------------------------------------------

    def _ingest(self, path: Path) -> Ingested:
        with path.open("rb") as fh:
            head = fh.read(64)
        if not head:
            raise InvalidInput("The uploaded file is empty.", code="empty_file", field="image")
        fmt = sniff(head)
        if fmt is None:
            raise _unsupported()
        try:
            header = pyvips.Image.new_from_file(str(path))  # reads the header only
        except pyvips.Error as exc:
            raise _corrupt(exc) from exc
        loader = str(header.get("vips-loader"))
        if fmt is ImageFormat.AVIF and (
            not loader.startswith("heifload")
            or header.get_typeof("heif-compression") == 0
            or header.get("heif-compression") != "av1"
        ):
            raise _unsupported()
        frames = header.get("n-pages") if header.get_typeof("n-pages") else 1
        width, height = _upright(header)
        limits = self.limits
        if max(width, height) > limits.max_edge:
            raise _too_large("edge in pixels", limits.max_edge, max(width, height))
        if width * height > limits.max_pixels:
            raise _too_large("pixel count", limits.max_pixels, width * height)
        if frames > limits.max_frames:
            raise _too_large("frame count", limits.max_frames, frames)
        try:
            # Decode everything once: a truncated or corrupt body is refused now, not in a job.
            full = pyvips.Image.new_from_file(str(path), access="sequential", fail_on="truncated")
            full.avg()
        except pyvips.Error as exc:
            raise _corrupt(exc) from exc
        info = ImageInfo(format=fmt, width=width, height=height, frames=frames)
        if frames == 1 and _needs_cleaning(header):
            return Ingested(info, self._clean(path, fmt))
        # Kept byte for byte: re-encoding would cost quality for nothing.
        return Ingested(info)

    def _clean(self, path: Path, fmt: ImageFormat) -> bytes:
        """Applies EXIF orientation and drops EXIF, XMP and IPTC (GPS with them); keeps ICC."""
        try:
            image = pyvips.Image.new_from_file(str(path), fail_on="truncated").autorot()
            options: dict[str, Any] = {"keep": "icc"}
            if fmt is ImageFormat.JPEG:
                options |= {"Q": 92, "optimize_coding": True}
            elif fmt in (ImageFormat.WEBP, ImageFormat.AVIF):
                options |= {"lossless": True} if fmt is ImageFormat.WEBP else {"Q": 92}
            suffix = {ImageFormat.AVIF: ".avif", ImageFormat.TIFF: ".tif"}.get(fmt, f".{fmt}")
            return bytes(image.write_to_buffer(suffix, **options))
        except pyvips.Error as exc:
            raise _corrupt(exc) from exc

    # --- render --------------------------------------------------------------------------------

    def _render(self, source: bytes, spec: TransformSpec, watermark: bytes | None) -> Rendered:
        try:
            return self._apply(source, spec, watermark)
        except pyvips.Error as exc:
            raise _corrupt(exc) from exc

    def _apply(self, source: bytes, spec: TransformSpec, watermark: bytes | None) -> Rendered:
        header = pyvips.Image.new_from_buffer(source, "")
        width, height = _upright(header)
        source_format = str(header.get("vips-loader")).split("load")[0].replace("heif", "avif")
        target = plan(
            spec, width=width, height=height, source_format=source_format, limits=self.limits
        )
        image = self._load_and_size(source, spec, width, height)
        image = _srgb(image)
        if spec.rotate:
            image = _rotate(image, spec.rotate)
        if spec.flip:
            image = image.flipver()
        if spec.mirror:
            image = image.fliphor()
        image = _filters(image, spec)
        image = _exact(image, target.width, target.height)
        if spec.watermark is not None:
            if spec.watermark.text is not None:
                mark = _text_mark(spec.watermark.text, image.width, image.height)
            else:
                if watermark is None:
                    raise Unprocessable("The watermark image is missing.", code="watermark_missing")
                mark = _image_mark(watermark, image.width)
            image = _composite(image, mark, spec.watermark.position, spec.watermark.opacity)
        if image.width != target.width or image.height != target.height:
            raise Unprocessable("The output size does not match its plan.", code="render_mismatch")
        data = _encode(image, target.format, spec.quality)
        return Rendered(data, str(target.format), image.width, image.height)

    def _load_and_size(self, source: bytes, spec: TransformSpec, width: int, height: int) -> Any:
        resize = spec.resize
        if resize is not None and spec.crop is None:
            # Shrink on load: a JPEG decodes at 1/2, 1/4 or 1/8 scale when the output is small.
            w, h = _resize_box(resize, width, height)
            crop = (
                "centre" if resize.fit is Fit.COVER and resize.width and resize.height else "none"
            )
            size = "force" if resize.fit is Fit.FILL and resize.width and resize.height else "both"
            image = pyvips.Image.thumbnail_buffer(
                source, w, height=h, crop=crop, size=size, fail_on="truncated"
            )
        else:
            image = pyvips.Image.new_from_buffer(source, "", fail_on="truncated").autorot()
            if spec.crop is not None:
                c = spec.crop
                image = image.crop(c.x, c.y, c.width, c.height)
            if resize is not None:
                w, h = _resize_box(resize, image.width, image.height)
                if resize.fit is Fit.COVER and resize.width and resize.height:
                    image = image.thumbnail_image(w, height=h, crop="centre")
                else:
                    size = "force" if resize.fit is Fit.FILL else "both"
                    image = image.thumbnail_image(w, height=h, size=size)
        if resize is not None and resize.fit is Fit.CONTAIN and resize.width and resize.height:
            image = _pad(image, resize.width, resize.height)
        return image


def _resize_box(resize: Any, width: int, height: int) -> tuple[int, int]:
    """The thumbnail box: for one edge, the other from the aspect ratio; for inside/outside,
    the planned size (thumbnail keeps the aspect inside that box)."""
    from pixelpress.domain.spec import resized

    if resize.fit is Fit.CONTAIN and resize.width and resize.height:
        scale = min(resize.width / width, resize.height / height)
        return max(1, round(width * scale)), max(1, round(height * scale))
    return resized(resize, width, height)


def _srgb(image: Any) -> Any:
    if image.get_typeof("icc-profile-data"):
        try:
            image = image.icc_transform("srgb", embedded=True, intent="perceptual")
        except pyvips.Error:
            image = image.colourspace("srgb")
    elif image.interpretation not in ("srgb",):
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _has_alpha(image: Any) -> bool:
    return bool(image.hasalpha())


def _pad(image: Any, width: int, height: int) -> Any:
    """Letterboxes to exactly width x height on a transparent canvas."""
    image = _srgb(image)
    if not _has_alpha(image):
        image = image.bandjoin(255)
    left = (width - image.width) // 2
    top = (height - image.height) // 2
    return image.embed(left, top, width, height, extend="background", background=[0, 0, 0, 0])


def _rotate(image: Any, angle: float) -> Any:
    if angle % 90 == 0:
        return image.rot({90: "d90", 180: "d180", 270: "d270"}[int(angle) % 360])
    if not _has_alpha(image):
        image = image.bandjoin(255)
    # A transparent background: formats without alpha flatten it to white at encode.
    return image.rotate(angle, background=[0, 0, 0, 0])


def _filters(image: Any, spec: TransformSpec) -> Any:
    alpha = image[image.bands - 1] if _has_alpha(image) else None
    colour = image.extract_band(0, n=image.bands - 1) if alpha is not None else image
    changed = False
    if spec.grayscale:
        colour = colour.colourspace("b-w").colourspace("srgb").cast("uchar")
        changed = True
    if spec.sepia:
        colour = colour.recomb(SEPIA).cast("uchar")
        changed = True
    if spec.blur is not None:
        colour = colour.gaussblur(spec.blur).cast("uchar")
        changed = True
    if spec.sharpen:
        colour = colour.sharpen(sigma=SHARPEN_SIGMA).cast("uchar")
        changed = True
    if not changed:
        return image
    return colour.bandjoin(alpha) if alpha is not None else colour


def _exact(image: Any, width: int, height: int) -> Any:
    """Rounding in libvips may differ from the plan by a pixel: settle on the planned size."""
    if image.width == width and image.height == height:
        return image
    return image.gravity("centre", width, height, extend="copy")


def _text_mark(text: str, width: int, height: int) -> Any:
    box_w = max(8, width // 3)
    box_h = max(8, height // 10)
    mask = pyvips.Image.text(text, width=box_w, height=box_h, dpi=300)
    white = mask.new_from_image([255, 255, 255]).copy(interpretation="srgb")
    return white.bandjoin(mask).cast("uchar")


def _image_mark(data: bytes, width: int) -> Any:
    mark = pyvips.Image.thumbnail_buffer(data, max(1, width // 4))
    mark = _srgb(mark)
    if not _has_alpha(mark):
        mark = mark.bandjoin(255)
    return mark


def _composite(image: Any, mark: Any, position: Position, opacity: float) -> Any:
    if mark.width > image.width or mark.height > image.height:
        mark = mark.thumbnail_image(image.width, height=image.height)
    mark = mark.extract_band(0, n=3).bandjoin((mark[3] * opacity).cast("uchar"))
    margin = int(min(image.width, image.height) * MARGIN)
    name = str(position)
    x = {"left": margin, "right": image.width - mark.width - margin}.get(
        name.split("-")[-1] if "-" in name else name, (image.width - mark.width) // 2
    )
    y = {"top": margin, "bottom": image.height - mark.height - margin}.get(
        name.split("-")[0], (image.height - mark.height) // 2
    )
    x = max(0, min(x, image.width - mark.width))
    y = max(0, min(y, image.height - mark.height))
    alpha = _has_alpha(image)
    base = image if alpha else image.bandjoin(255)
    out = base.composite2(mark, "over", x=x, y=y)
    out = out.cast("uchar")
    return out if alpha else out.extract_band(0, n=3)


def _encode(image: Any, fmt: OutputFormat, quality: int | None) -> bytes:
    if fmt is OutputFormat.JPEG and _has_alpha(image):
        image = image.flatten(background=[255, 255, 255])
    image = image.copy(interpretation="srgb")
    options: dict[str, Any] = {"keep": "none"}
    if fmt is OutputFormat.JPEG:
        options |= {"Q": quality or 82, "optimize_coding": True, "interlace": True}
    elif fmt is OutputFormat.WEBP:
        options |= {"Q": quality or 80, "effort": 4}
    elif fmt is OutputFormat.AVIF:
        options |= {"Q": quality or 60, "effort": AVIF_EFFORT, "compression": "av1"}
    elif fmt is OutputFormat.PNG:
        options |= {"compression": 6}
        if quality is not None:
            options |= {"palette": True, "Q": quality}
    elif fmt is OutputFormat.GIF:
        options |= {"effort": 7}
    suffix = ".jpg" if fmt is OutputFormat.JPEG else f".{fmt}"
    return bytes(image.write_to_buffer(suffix, **options))
