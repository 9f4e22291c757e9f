"""The image processors the processor contract runs over, each with the sample files it reads.

A second engine plugs in with one entry in ENGINES: a factory from limits to the processor, and
samples of its own (the files it must accept, refuse or turn upright). `decodes_pixels` says
whether it really works on pixels: the pixel-level checks (test_processor_pixels.py) decode its
outputs with libvips and run only on such engines. The fake processor of the use-case tests
runs the rest of the contract, so that it promises what the real one does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pixelpress.adapters.vips.processor import VipsImageProcessor
from pixelpress.domain.models import ImageFormat, ImageLimits
from pixelpress.ports import ImageProcessor
from tests.fakes import FAKE_MAGIC, FakeImageProcessor, fake_image
from tests.images import animation, exif_block, photo, png_declaring, solid, with_exif


class Samples(Protocol):
    def image(
        self,
        width: int,
        height: int,
        fmt: ImageFormat = ImageFormat.PNG,
        *,
        frames: int = 1,
        orientation: int = 1,
        location: bool = False,
    ) -> bytes:
        """A `width` x `height` image as stored (EXIF `orientation` not yet applied) with
        `frames` frames (GIF and WebP only), carrying a GPS location when asked."""
        ...

    def solid(self, width: int, height: int, colour: tuple[int, int, int]) -> bytes:
        """A PNG of one colour."""
        ...

    def declaring(self, width: int, height: int) -> bytes:
        """A small file whose header declares `width` x `height` (a decompression bomb)."""
        ...

    def corrupt(self, fmt: ImageFormat) -> bytes:
        """The leading bytes of `fmt`'s files, then nonsense."""
        ...


SUFFIXES = {
    ImageFormat.JPEG: ".jpg",
    ImageFormat.PNG: ".png",
    ImageFormat.WEBP: ".webp",
    ImageFormat.GIF: ".gif",
    ImageFormat.AVIF: ".avif",
    ImageFormat.TIFF: ".tif",
}
LEADING_BYTES = {
    ImageFormat.JPEG: b"\xff\xd8\xff",
    ImageFormat.PNG: b"\x89PNG\r\n\x1a\n",
    ImageFormat.WEBP: b"RIFF\x00\x01\x00\x00WEBPVP8 ",
    ImageFormat.GIF: b"GIF89a",
    ImageFormat.AVIF: b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif",
    ImageFormat.TIFF: b"II*\x00",
}


class VipsSamples:
    """Real files, made with libvips."""

    def image(
        self,
        width: int,
        height: int,
        fmt: ImageFormat = ImageFormat.PNG,
        *,
        frames: int = 1,
        orientation: int = 1,
        location: bool = False,
    ) -> bytes:
        suffix = SUFFIXES[fmt]
        exif = exif_block(orientation, gps=location) if orientation != 1 or location else None
        if frames > 1:
            levels = [30 + 200 * i // frames for i in range(frames)]
            return animation(levels, suffix, width, exif, height=height)
        data = photo(width, height, suffix, keep="none")
        return data if exif is None else with_exif(data, suffix, orientation, gps=location)

    def solid(self, width: int, height: int, colour: tuple[int, int, int]) -> bytes:
        return bytes(
            solid(width, height, list(colour)).copy(interpretation="srgb").pngsave_buffer()
        )

    def declaring(self, width: int, height: int) -> bytes:
        return png_declaring(width, height)

    def corrupt(self, fmt: ImageFormat) -> bytes:
        return LEADING_BYTES[fmt] + b"\x00" * 100


class FakeSamples:
    """The fake processor's own files (tests/fakes.py)."""

    image = staticmethod(fake_image)

    def solid(self, width: int, height: int, colour: tuple[int, int, int]) -> bytes:
        return fake_image(width, height, colour="#{:02x}{:02x}{:02x}".format(*colour))

    def declaring(self, width: int, height: int) -> bytes:
        return fake_image(width, height)  # small whatever it declares

    def corrupt(self, fmt: ImageFormat) -> bytes:
        return FAKE_MAGIC + b'{"format": "' + str(fmt).encode() + b'", "width": ]]'


@dataclass(frozen=True)
class Engine:
    make: Callable[[ImageLimits], ImageProcessor]
    samples: Samples
    decodes_pixels: bool


ENGINES: dict[str, Engine] = {
    "vips": Engine(
        make=lambda limits: VipsImageProcessor(limits, threads=2),
        samples=VipsSamples(),
        decodes_pixels=True,
    ),
    "fake": Engine(make=FakeImageProcessor, samples=FakeSamples(), decodes_pixels=False),
}
PIXEL_ENGINES = [name for name, engine in ENGINES.items() if engine.decodes_pixels]
