"""ImageProcessor over pyvips (libvips from the pyvips-binary wheel).

Every call runs in a bounded thread pool: libvips releases the GIL, so threads use every core
while the event loop stays free. The work itself is in `ingest` (checking an upload), `render`
(the transformation chain), `pixels` and `animation`; this class holds the pool, the settings
and libvips' process-wide switches."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import anyio
import pyvips

from pixelpress.adapters import placeholder_blurhash
from pixelpress.adapters.vips.ingest import read_upload
from pixelpress.adapters.vips.render import render_spec
from pixelpress.adapters.vips.rules import corrupt
from pixelpress.domain.faces import Focus
from pixelpress.domain.models import ImageLimits, Ingested, Placeholder, Rendered
from pixelpress.domain.spec import TransformSpec


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
        return await anyio.to_thread.run_sync(read_upload, path, self.limits, limiter=self._limiter)

    async def placeholder(self, source: bytes | Path) -> Placeholder:
        try:
            return await anyio.to_thread.run_sync(
                placeholder_blurhash.compute, source, limiter=self._limiter
            )
        except pyvips.Error as exc:
            raise corrupt() from exc

    async def render(
        self,
        source: bytes | Path,
        spec: TransformSpec,
        *,
        watermark: bytes | None = None,
        focus: Focus | None = None,
    ) -> Rendered:
        work = partial(render_spec, source, spec, watermark, limits=self.limits,
                       font=self._font, font_file=self._font_file, focus=focus)  # fmt: skip
        return await anyio.to_thread.run_sync(work, limiter=self._limiter)
