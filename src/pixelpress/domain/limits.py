"""The limits an image (or a planned output) can pass, each refused with its own stable code and
the limit it passed, so that a client can tell "too many frames" from "too many pixels"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pixelpress.domain.errors import TooLarge


class Limit(StrEnum):
    """The codes of limit refusals (413 for an upload, 422 for an output a spec asks for)."""

    BYTES = "file_too_large"
    EDGE = "edge_too_long"
    PIXELS = "too_many_pixels"
    FRAMES = "too_many_frames"

    @property
    def counted(self) -> str:
        return _COUNTED[self]


_COUNTED = {
    Limit.BYTES: "size in bytes",
    Limit.EDGE: "longest edge in pixels",
    Limit.PIXELS: "pixel count",
    Limit.FRAMES: "frame count",
}


def too_large(limit: Limit, maximum: int, actual: int, *, counted: str | None = None) -> TooLarge:
    """An input over `limit`: `details` has the limit, what was found and what was counted."""
    what = counted or limit.counted
    return TooLarge(
        f"The image's {what} ({actual}) is over the limit of {maximum}.",
        code=limit,
        details={"limit": maximum, "actual": actual, "what": what},
    )


@dataclass(frozen=True)
class ImageLimits:
    """Upload and output limits; every edge/pixel/frame bound in one place."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_edge: int = 12_000
    max_frames: int = 100
