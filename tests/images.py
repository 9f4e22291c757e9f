"""Images made on the fly for tests (nothing binary is committed)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyvips

MAGIC: dict[str, Callable[[bytes], bool]] = {
    "jpeg": lambda b: b[:3] == b"\xff\xd8\xff",
    "png": lambda b: b[:8] == b"\x89PNG\r\n\x1a\n",
    "webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
    "gif": lambda b: b[:6] in (b"GIF87a", b"GIF89a"),
    "avif": lambda b: b[4:8] == b"ftyp" and b"avif" in b[8:32],
}
"""Whether bytes start as each output format's files do."""


def photo(width: int = 640, height: int = 480, fmt: str = ".jpg", **save: object) -> bytes:
    """A colourful gradient with a red square marking the top-left corner."""
    xyz = pyvips.Image.xyz(width, height)
    r = (xyz[0] * 255 / max(width - 1, 1)).cast("uchar")
    g = (xyz[1] * 255 / max(height - 1, 1)).cast("uchar")
    b = (r * 0 + 128).cast("uchar")
    image = r.bandjoin([g, b]).copy(interpretation="srgb")
    mark = pyvips.Image.black(width // 8, height // 8).new_from_image([255, 0, 0]).cast("uchar")
    image = image.insert(mark, 0, 0)
    return bytes(image.write_to_buffer(fmt, **save))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares huge dimensions (a decompression bomb's calling card)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def pixel(data: bytes, x: int, y: int) -> list[float]:
    image = pyvips.Image.new_from_buffer(data, "")
    return list(image.getpoint(x, y))


def bigtiff_declaring(width: int, height: int, *, big_endian: bool = False) -> bytes:
    """A BigTIFF header and one IFD declaring a `width` x `height` grey image, with no pixels."""
    entries = [
        (256, 4, width),  # ImageWidth, LONG
        (257, 4, height),  # ImageLength
        (258, 3, 8),  # BitsPerSample, SHORT
        (259, 3, 1),  # Compression: none
        (262, 3, 1),  # PhotometricInterpretation: black is zero
        (273, 16, 0),  # StripOffsets, LONG8
        (277, 3, 1),  # SamplesPerPixel
        (278, 4, height),  # RowsPerStrip
        (279, 16, width * height),  # StripByteCounts, LONG8
    ]
    order = ">" if big_endian else "<"
    ifd = struct.pack(f"{order}Q", len(entries))
    for tag, kind, value in entries:
        # a value narrower than its slot sits in the slot's first bytes, in either byte order
        size = {3: "H", 4: "I", 16: "Q"}[kind]
        slot = struct.pack(f"{order}{size}", value).ljust(8, b"\x00")
        ifd += struct.pack(f"{order}HHQ", tag, kind, 1) + slot
    # byte order, 43, then the offset size (8), a zero, and the first IFD's offset (16)
    magic = b"MM" if big_endian else b"II"
    header = magic + struct.pack(f"{order}HHHQ", 43, 8, 0, 16)
    return header + ifd + struct.pack(f"{order}Q", 0)


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


def quarters() -> bytes:
    """A 400x400 picture in four colours: red, green (top); blue, white (bottom)."""
    top = solid(200, 200, [255, 0, 0]).join(solid(200, 200, [0, 255, 0]), "horizontal")
    bottom = solid(200, 200, [0, 0, 255]).join(solid(200, 200, [255, 255, 255]), "horizontal")
    image = top.join(bottom, "vertical").copy(interpretation="srgb")
    return bytes(image.pngsave_buffer())


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
    levels: list[int],
    fmt: str = ".gif",
    size: int = 20,
    exif: bytes | None = None,
    *,
    height: int | None = None,
    **save: Any,
) -> bytes:
    """One grey frame per level, `size` wide and `height` (else `size`) high."""
    height = height or size
    frames = pyvips.Image.arrayjoin([solid(size, height, [v] * 3) for v in levels], across=1)
    frames = frames.copy(interpretation="srgb")
    frames.set_type(pyvips.GValue.gint_type, "page-height", height)
    if exif is not None:
        frames.set_type(pyvips.GValue.blob_type, "exif-data", exif)
    return bytes(frames.write_to_buffer(fmt, **save))


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return path


def grainy_photo(width: int, height: int) -> bytes:
    """`photo`'s gradient under fine, film-like grain, as a JPEG (Q=92): texture near the limit
    of what a reduced master keeps, where a render from one loses sharpness first."""
    xyz = pyvips.Image.xyz(width, height)
    r = xyz[0] * 255 / max(width - 1, 1)
    g = xyz[1] * 255 / max(height - 1, 1)
    grain = pyvips.Image.gaussnoise(width, height, sigma=20, mean=0, seed=7).gaussblur(2)
    image = (r.bandjoin([g, r * 0 + 128]) + grain).cast("uchar").copy(interpretation="srgb")
    return bytes(image.write_to_buffer(".jpg", Q=92))
