"""The ports of infrastructure: object storage and its download links, the task queues, the
cache and the rate limiter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StoredObject:
    """A stored object to answer with: exactly one of `path`, `data` and `chunks`."""

    size: int
    path: Path | None = None
    data: bytes | None = None
    chunks: AsyncIterator[bytes] | None = None


class ObjectStorage(Protocol):
    # `media_type`: what the object is, kept with it where the store can keep it (S3 then serves
    # presigned downloads with it).
    async def put(self, key: str, data: bytes, *, media_type: str | None = None) -> None: ...
    async def put_file(self, key: str, path: Path, *, media_type: str | None = None) -> None:
        """Streams a local file into the store."""
        ...

    async def get(self, key: str) -> bytes:
        """Raises NotFound when there is no such object."""
        ...

    async def read(self, key: str) -> StoredObject:
        """The object as the store best hands it out: a local file's path (to be sent with
        sendfile), or its bytes, or its chunks. Raises NotFound when there is no such object."""
        ...

    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing object is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> None: ...
    async def ping(self) -> None: ...


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime


class DownloadLinks(Protocol):
    """Expiring links to stored objects: presigned by the store itself (S3), or our own signed
    `/files/...` links (stores that cannot sign, like local files). The root picks one."""

    async def link(
        self, key: str, *, filename: str, media_type: str, base_url: str
    ) -> DownloadLink:
        """A link to object `key`, served as `media_type` under `filename`. `base_url`: where
        this service answers (for links of our own)."""
        ...

    def genuine(
        self, key: str, *, filename: str, media_type: str, expires: int, signature: str
    ) -> bool:
        """Whether a link of our own is genuine and not expired. (Stores that sign their own
        links never hand out ours: False there.)"""
        ...


Handler = Callable[[str], Awaitable[None]]


class TaskQueue(Protocol):
    """One stream of work, carrying only ids, at least once: the database is the truth about the
    work itself. Pixelpress has two, each with its own consumers: image jobs and notifications."""

    async def publish(self, item_id: str, *, delay: float = 0, key: str | None = None) -> None:
        """Hands the id to a consumer, after `delay` seconds. Raises Unavailable when the broker
        cannot take it now (the caller's database row keeps the work for the sweep). Items of
        one `key` (default: the id) keep their order where the broker orders by key (Kafka)."""
        ...

    async def dead_letter(self, item_id: str, reason: str) -> None:
        """Records an item that failed for good where operators look for such things."""
        ...

    async def start(self, handler: Handler | None) -> None:
        """Connects (or keeps trying in the background, when the broker is down); with a
        handler, also consumes, running at most the queue's concurrency at once."""
        ...

    async def stop(self) -> None: ...
    async def ping(self) -> None:
        """Raises Unavailable unless the broker itself answers now."""
        ...


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, *, ttl: int) -> None: ...
    async def add(self, key: str, value: bytes, *, ttl: int) -> bool:
        """Sets `key` only if it is absent, atomically (a lock across processes on Redis).
        True when this call set it."""
        ...

    async def delete(self, key: str) -> None: ...
    async def release(self, key: str) -> None:
        """Deletes `key` (a lock) and wakes whoever waits for it, in any process."""
        ...

    async def wait_released(self, key: str, *, within: float) -> None:
        """Returns once `key` is gone (released, or expired), or after `within` seconds."""
        ...

    async def delete_prefix(self, prefix: str) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int
    """Seconds until the window frees a slot."""


class RateLimiter(Protocol):
    async def hit(
        self, bucket: str, key: str, *, limit: int, per_seconds: int
    ) -> RateLimitResult: ...
