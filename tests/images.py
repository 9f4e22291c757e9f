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
