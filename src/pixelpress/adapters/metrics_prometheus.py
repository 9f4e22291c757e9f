"""Metrics over prometheus_client, in a registry of this process's own (no global state). The
names and labels are what dashboards read: keep them."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from pixelpress.domain.models import JobStatus

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
RENDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


class PrometheusMetrics:
    def __init__(self) -> None:
        r = self._registry = CollectorRegistry()
        self._requests = Counter(
            "pixelpress_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self._latency = Histogram(
            "pixelpress_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._jobs = Gauge(
            "pixelpress_jobs", "Jobs by state (from the database).", ["state"], registry=r
        )
        self._queue_depth = Gauge(
            "pixelpress_queue_depth", "Jobs waiting to be run (queued).", registry=r
        )
        self._dependency_up = Gauge(
            "pixelpress_dependency_up",
            "1 when the dependency answered the last readiness check, else 0.",
            ["dependency"],
            registry=r,
        )
        self._job_seconds = Histogram(
            "pixelpress_job_duration_seconds",
            "Time to run a job (load, render, store), by outcome.",
            ["outcome"],
            buckets=RENDER_BUCKETS,
            registry=r,
        )
        self._render_seconds = Histogram(
            "pixelpress_render_duration_seconds",
            "Time libvips spends on one rendering (decode, operations, encode).",
            buckets=RENDER_BUCKETS,
            registry=r,
        )
        self._served: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._cache = Counter(
            "pixelpress_cache_requests_total", "Cache lookups by result.", ["result"], registry=r
        )

    def request_served(self, *, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled series, looked up once (labels() costs more than the counting itself;
        # routes are templates, so the combinations are few).
        key = (method, route, status)
        series = self._served.get(key)
        if series is None:
            series = self._served[key] = (
                self._requests.labels(method=method, route=route, status=str(status)),
                self._latency.labels(method=method, route=route),
            )
        series[0].inc()
        series[1].observe(seconds)

    def job_ran(self, outcome: JobStatus, seconds: float) -> None:
        self._job_seconds.labels(outcome=str(outcome)).observe(seconds)

    def jobs_counted(self, counts: dict[JobStatus, int]) -> None:
        for status, count in counts.items():
            self._jobs.labels(state=str(status)).set(count)
        self._queue_depth.set(counts.get(JobStatus.QUEUED, 0))

    def cache_looked_up(self, *, hit: bool) -> None:
        self._cache.labels(result="hit" if hit else "miss").inc()

    def image_rendered(self, seconds: float) -> None:
        self._render_seconds.observe(seconds)

    def dependency_checked(self, dependency: str, *, up: bool) -> None:
        self._dependency_up.labels(dependency=dependency).set(1 if up else 0)

    def render(self) -> tuple[bytes, str]:
        return bytes(generate_latest(self._registry)), CONTENT_TYPE_LATEST
