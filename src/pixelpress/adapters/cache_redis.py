"""Cache over Redis, shared by every API process. Keys live under one namespace."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from pixelpress.domain.errors import Unavailable

_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
CONNECTION_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "socket_keepalive": True,
    # A pooled connection that died with a Redis restart fails its next command: try again on a
    # fresh one at once, so a restart costs no request (and checks idle ones before use).
    "retry": Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=3),
    "retry_on_error": [RedisConnectionError, RedisTimeoutError, ConnectionResetError],
    "health_check_interval": 10,
}
"""For every Redis client of ours: the cache's and the rate limiter's."""


def _unavailable() -> Unavailable:
    return Unavailable("The cache is unavailable.", dependency="cache")


class RedisCache:
    def __init__(self, url: str, *, prefix: str = "pixelpress") -> None:
        self._ns = f"{prefix}:cache:"
        self._redis: Redis = Redis.from_url(url, **CONNECTION_OPTIONS)

    async def get(self, key: str) -> bytes | None:
        try:
            value: Any = await self._redis.get(self._ns + key)
        except _DOWN as exc:
            raise _unavailable() from exc
        return bytes(value) if value is not None else None

    async def set(self, key: str, value: bytes, *, ttl: int) -> None:
        try:
            await self._redis.set(self._ns + key, value, ex=ttl)
        except _DOWN as exc:
            raise _unavailable() from exc

    async def add(self, key: str, value: bytes, *, ttl: int) -> bool:
        try:
            return bool(await self._redis.set(self._ns + key, value, ex=ttl, nx=True))
        except _DOWN as exc:
            raise _unavailable() from exc

    async def delete(self, key: str) -> None:
        try:
            await self._redis.delete(self._ns + key)
        except _DOWN as exc:
            raise _unavailable() from exc

    async def release(self, key: str) -> None:
        """DEL, then a message on the key's channel for whoever waits (in any process)."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(self._ns + key)
                pipe.publish(self._channel(key), b"1")
                await pipe.execute()
        except _DOWN as exc:
            raise _unavailable() from exc

    async def wait_released(self, key: str, *, within: float) -> None:
        """Subscribes first, then looks: a release between the two is not missed."""
        try:
            async with self._redis.pubsub() as pubsub:
                await pubsub.subscribe(self._channel(key))
                if not await self._redis.exists(self._ns + key):
                    return
                deadline = time.monotonic() + within
                while (left := deadline - time.monotonic()) > 0:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=min(left, 1.0)
                    )
                    if message is not None or not await self._redis.exists(self._ns + key):
                        return  # released, or expired (a holder that died sends nothing)
        except _DOWN as exc:
            raise _unavailable() from exc

    def _channel(self, key: str) -> str:
        return f"{self._ns}released:{key}"

    async def delete_prefix(self, prefix: str) -> None:
        try:
            batch: list[Any] = []
            async for name in self._redis.scan_iter(
                match=_glob(self._ns + prefix) + "*", count=500
            ):
                batch.append(name)
                if len(batch) >= 500:
                    await self._redis.delete(*batch)
                    batch.clear()
            if batch:
                await self._redis.delete(*batch)
        except _DOWN as exc:
            raise _unavailable() from exc

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except _DOWN as exc:
            raise _unavailable() from exc

    async def close(self) -> None:
        await self._redis.aclose()


def _glob(text: str) -> str:
    """Escapes glob characters so a prefix matches only itself."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
