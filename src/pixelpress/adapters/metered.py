"""Ports that report to the Metrics port as they work: a Cache that counts its hits and misses,
an ImageProcessor that times its renderings. Everything else passes through."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from pixelpress.domain.models import Ingested, Placeholder, Rendered
from pixelpress.ports import Cache, ImageProcessor, Metrics

if TYPE_CHECKING:
    from pixelpress.domain.faces import Focus
    from pixelpress.domain.spec import TransformSpec


class MeteredCache:
    def __init__(self, inner: Cache, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def get(self, key: str) -> bytes | None:
        value = await self._inner.get(key)
        self._metrics.cache_looked_up(hit=value is not None)
        return value

    async def set(self, key: str, value: bytes, *, ttl: int) -> None:
        await self._inner.set(key, value, ttl=ttl)

    async def add(self, key: str, value: bytes, *, ttl: int) -> bool:
        return await self._inner.add(key, value, ttl=ttl)

    async def delete(self, key: str) -> None:
        await self._inner.delete(key)

    async def release(self, key: str) -> None:
        await self._inner.release(key)

    async def wait_released(self, key: str, *, within: float) -> None:
        await self._inner.wait_released(key, within=within)

    async def delete_prefix(self, prefix: str) -> None:
        await self._inner.delete_prefix(prefix)

    async def ping(self) -> None:
        await self._inner.ping()

    async def close(self) -> None:
        await self._inner.close()


class MeteredProcessor:
    def __init__(self, inner: ImageProcessor, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def ingest(self, path: Path) -> Ingested:
        return await self._inner.ingest(path)

    async def placeholder(self, source: bytes | Path) -> Placeholder:
        return await self._inner.placeholder(source)

    async def render(
        self,
        source: bytes | Path,
        spec: TransformSpec,
        *,
        watermark: bytes | None = None,
        focus: Focus | None = None,
        master: bool = False,
    ) -> Rendered:
        started = time.perf_counter()
        try:
            return await self._inner.render(
                source, spec, watermark=watermark, focus=focus, master=master
            )
        finally:  # failed renderings cost their time too
            self._metrics.image_rendered(time.perf_counter() - started)
