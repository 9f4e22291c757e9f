"""Animated GIF and WebP sources: their frames are kept when every step of the chain can work
frame by frame and the output format animates (`rules.keeps_frames`); otherwise the first frame
is rendered and the result says it was flattened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyvips

from pixelpress.domain.spec import TransformSpec, resize_geometry


def load_animated(source: bytes | Path, spec: TransformSpec, width: int, height: int) -> Any:
    """Every frame, scaled as `spec` says: one tall image with `page-height` set."""
    data = source.read_bytes() if isinstance(source, Path) else source
    if spec.resize is None:
        return pyvips.Image.new_from_buffer(data, "", n=-1, fail_on="truncated")
    g = resize_geometry(spec.resize, width, height)
    return pyvips.Image.thumbnail_buffer(
        data,
        g.scaled_width,
        height=g.scaled_height,
        size="force",
        option_string="n=-1",
        fail_on="truncated",
    )


def frame_height(image: Any) -> int:
    return int(image.get("page-height")) if image.get_typeof("page-height") else image.height
