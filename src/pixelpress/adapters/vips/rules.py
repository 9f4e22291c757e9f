"""What an image engine decides without looking at a pixel, kept free of pyvips so that any
engine (and the tests' fake processor) follows the same rules: the refusals of unreadable and
unaccepted files, the declared-size limits, and which chains keep an animation's frames."""

from __future__ import annotations

from pixelpress.domain.errors import InvalidInput, UnsupportedMedia
from pixelpress.domain.limits import Limit, too_large
from pixelpress.domain.models import MEDIA_TYPES, ImageLimits
from pixelpress.domain.spec import Fit, OutputFormat, TransformSpec

ACCEPTED = sorted(MEDIA_TYPES.values())
LARGE_PIXELS = 16_000_000
"""Sources of more pixels than this (24 MP cameras and up) are decoded one at a time (see
`VipsImageProcessor`), and a JPEG of them with more shrink on load (see `render`)."""
ANIMATED_OUTPUTS = (OutputFormat.GIF, OutputFormat.WEBP)


def unsupported() -> UnsupportedMedia:
    return UnsupportedMedia(
        "This file type is not accepted. Send a JPEG, PNG, WebP, GIF, AVIF or TIFF image.",
        code="unsupported_media_type",
        details={"accepted": ACCEPTED},
    )


def corrupt() -> InvalidInput:
    return InvalidInput(
        "The image is corrupt or truncated and cannot be read.", code="invalid_image"
    )


def check_declared(width: int, height: int, frames: int, limits: ImageLimits) -> None:
    """TooLarge, with the limit's code, when one frame's declared size as displayed or the
    frame count passes `limits`."""
    if max(width, height) > limits.max_edge:
        raise too_large(Limit.EDGE, limits.max_edge, max(width, height))
    if width * height > limits.max_pixels:
        raise too_large(Limit.PIXELS, limits.max_pixels, width * height)
    if frames > limits.max_frames:
        raise too_large(Limit.FRAMES, limits.max_frames, frames)


def keeps_frames(spec: TransformSpec, output: OutputFormat) -> bool:
    """Frame by frame: scaling without cropping or padding, and colour filters. Turning,
    flipping, cropping, blurring across frame edges and watermarks flatten."""
    if output not in ANIMATED_OUTPUTS:
        return False
    if spec.crop or spec.rotate or spec.flip or spec.mirror or spec.watermark:
        return False
    if spec.blur is not None or spec.sharpen:
        return False
    resize = spec.resize
    both = resize is not None and resize.width is not None and resize.height is not None
    return not (both and resize is not None and resize.fit in (Fit.COVER, Fit.CONTAIN))
