"""Images made on the fly for tests (nothing binary is committed)."""

from __future__ import annotations

import struct
import zlib

import pyvips


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
