"""Prometheus metrics of one process, in a registry of its own (no global state)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from pixelpress.domain.models import Ingested, JobStatus, Placeholder, Rendered
from pixelpress.domain.spec import TransformSpec
from pixelpress.ports import Cache, ImageProcessor

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
RENDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "pixelpress_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "pixelpress_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.jobs = Gauge(
            "pixelpress_jobs", "Jobs by state (from the database).", ["state"], registry=r
        )
        self.queue_depth = Gauge(
            "pixelpress_queue_depth", "Jobs waiting to be run (queued).", registry=r
        )
        self.dependency_up = Gauge(
            "pixelpress_dependency_up",
            "1 when the dependency answered the last readiness check, else 0.",
            ["dependency"],
            registry=r,
        )
        self.job_seconds = Histogram(
            "pixelpress_job_duration_seconds",
            "Time to run a job (load, render, store), by outcome.",
            ["outcome"],
            buckets=RENDER_BUCKETS,
            registry=r,
        )
        self.render_seconds = Histogram(
            "pixelpress_render_duration_seconds",
            "Time libvips spends on one rendering (decode, operations, encode).",
            buckets=RENDER_BUCKETS,
            registry=r,
        )
        self.cache = Counter(
            "pixelpress_cache_requests_total", "Cache lookups by result.", ["result"], registry=r
        )

    def set_jobs(self, counts: dict[JobStatus, int]) -> None:
        for status, count in counts.items():
            self.jobs.labels(state=str(status)).set(count)
        self.queue_depth.set(counts.get(JobStatus.QUEUED, 0))

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


class MeteredCache:
    """A Cache that counts its hits and misses; everything else passes through."""

    def __init__(self, inner: Cache, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def get(self, key: str) -> bytes | None:
        value = await self._inner.get(key)
        self._metrics.cache.labels(result="hit" if value is not None else "miss").inc()
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
    """An ImageProcessor that times its renderings; everything else passes through."""

    def __init__(self, inner: ImageProcessor, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def ingest(self, path: Path) -> Ingested:
        return await self._inner.ingest(path)

    async def placeholder(self, source: bytes | Path) -> Placeholder:
        return await self._inner.placeholder(source)

    async def render(
        self, source: bytes | Path, spec: TransformSpec, *, watermark: bytes | None = None
    ) -> Rendered:
        with self._metrics.render_seconds.time():
            return await self._inner.render(source, spec, watermark=watermark)
