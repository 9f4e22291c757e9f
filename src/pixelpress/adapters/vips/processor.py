"""ImageProcessor over pyvips (libvips from the pyvips-binary wheel).

Every call runs in a bounded thread pool: libvips releases the GIL, so threads use every core
while the event loop stays free. The work itself is in `ingest` (checking an upload), `render`
(the transformation chain), `pixels` and `animation`; this class holds the pool, the settings
and libvips' process-wide switches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio
import pyvips

from pixelpress import allocator
from pixelpress.adapters import placeholder_blurhash
from pixelpress.adapters.vips.ingest import head, open_as, read_upload, sniff
from pixelpress.adapters.vips.render import render_spec
from pixelpress.adapters.vips.rules import LARGE_PIXELS, corrupt
from pixelpress.domain.faces import Focus
from pixelpress.domain.models import ImageLimits, Ingested, Placeholder, Rendered
from pixelpress.domain.spec import TransformSpec

T = TypeVar("T")

LARGE_BYTES_HINT = 512 * 1024
"""Sources smaller than this are not looked at (no header read, no extra thread hop): a
rendition's level, a small original. A compressed file holds its pixels in far fewer bytes than
it decodes to, but a photograph of 16 MP does not fit in 512 kB."""


def _declared_pixels(source: bytes | Path) -> int:
    """The pixels the source's header declares (0 when it cannot tell: the work says why)."""
    try:
        fmt = sniff(head(source))
        if fmt is None:
            return 0
        header = open_as(source, fmt)
        return int(header.width) * int(header.height)
    except (pyvips.Error, OSError):
        return 0


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


def _trimmed(work: Callable[[], T]) -> T:
    try:
        return work()
    finally:
        allocator.trim()


class VipsImageProcessor:
    def __init__(
        self,
        limits: ImageLimits,
        *,
        threads: int,
        font: str = "sans bold",
        font_file: str | None = None,
        large_decodes: int = 1,
    ) -> None:
        """`font` is a Pango font name found through fontconfig; `font_file` (a .ttf/.otf path)
        makes text watermarks work where the system has no fonts installed. `large_decodes`:
        how many sources over `LARGE_PIXELS` are decoded at once (uploads' checks and renders
        from such originals, their renditions first, share these slots): each holds tens of
        megabytes of buffers while it runs."""
        self.limits = limits
        self._limiter = anyio.CapacityLimiter(threads)
        self._large = anyio.Semaphore(large_decodes)
        self._font = font
        self._font_file = font_file
        pyvips.block_untrusted_set(True)  # no loaders that were not fuzzed against hostile input
        pyvips.operation_block_set("VipsForeignLoadSvg", True)  # SVG can fetch and script
        pyvips.cache_set_max(0)  # every input is new: the operation cache would only hold memory
        # One libvips worker per operation: the pool runs `threads` of them side by side, so
        # the cores are used all the same, without each operation's per-thread buffers (a
        # 35 MP render peaked 12 MB lower, and renders cost less CPU under load).
        pyvips.concurrency_set(1)
        _libvips_warnings_only()

    async def _run(self, source: bytes | Path, work: Callable[[], T]) -> T:
        """`work` in the thread pool; one of a few at a time when `source` is large."""
        # One stat of a local file the store has just found: cheaper than a thread hop.
        size = len(source) if isinstance(source, bytes) else source.stat().st_size  # noqa: ASYNC240
        if size >= LARGE_BYTES_HINT:
            pixels = await anyio.to_thread.run_sync(_declared_pixels, source, limiter=self._limiter)
            if pixels > LARGE_PIXELS:
                async with self._large:
                    return await anyio.to_thread.run_sync(_trimmed, work, limiter=self._limiter)
        return await anyio.to_thread.run_sync(work, limiter=self._limiter)

    async def ingest(self, path: Path) -> Ingested:
        return await self._run(path, partial(read_upload, path, self.limits))

    async def placeholder(self, source: bytes | Path) -> Placeholder:
        try:
            return await self._run(source, partial(placeholder_blurhash.compute, source))
        except pyvips.Error as exc:
            raise corrupt() from exc

    async def render(
        self,
        source: bytes | Path,
        spec: TransformSpec,
        *,
        watermark: bytes | None = None,
        focus: Focus | None = None,
        master: bool = False,
    ) -> Rendered:
        work = partial(render_spec, source, spec, watermark, limits=self.limits,
                       font=self._font, font_file=self._font_file, focus=focus,
                       master=master)  # fmt: skip
        return await self._run(source, work)
