"""ObjectStorage over obstore: LocalStore on the embedded default, S3Store in production."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import obstore
from obstore.exceptions import BaseError
from obstore.store import LocalStore, MemoryStore, S3Store

from pixelpress.domain.errors import NotFound, Unavailable
from pixelpress.ports import DownloadLink, StoredObject

if TYPE_CHECKING:
    from obstore import Attributes
    from obstore.store import ClientConfig, RetryConfig, S3Config

INLINE_READ = 256 * 1024
"""Objects up to this size are read whole rather than streamed."""


@dataclass(frozen=True)
class S3Options:
    endpoint_url: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable("Object storage is unavailable.", dependency="storage")


class ObstoreStorage:
    def __init__(self, store: Any, *, can_sign: bool, root: Path | None = None) -> None:
        self.store = store
        """The obstore store (for PresignedLinks)."""
        self.can_sign = can_sign
        """Whether the store presigns its own download links (S3)."""
        self._root = root

    @classmethod
    def local(cls, root: Path) -> ObstoreStorage:
        """Files under the folder `root` (made when missing)."""
        root.mkdir(parents=True, exist_ok=True)
        return cls(LocalStore(root, mkdir=True), can_sign=False, root=root.resolve())

    @classmethod
    def memory(cls) -> ObstoreStorage:
        """This process's memory (tests, throwaway runs)."""
        return cls(MemoryStore(), can_sign=False)

    @classmethod
    def s3(cls, bucket: str, prefix: str, options: S3Options) -> ObstoreStorage:
        """Objects under `prefix` in S3's (or a compatible store's) `bucket`."""
        config: S3Config = {"region": options.region}
        client: ClientConfig = {"connect_timeout": "5s", "timeout": "60s"}
        if options.endpoint_url:
            # MinIO, R2 and friends: path-style addressing; plain http only where it was asked.
            config["endpoint"] = options.endpoint_url
            config["virtual_hosted_style_request"] = False
            client["allow_http"] = options.endpoint_url.startswith("http://")
        if options.access_key_id:
            config["access_key_id"] = options.access_key_id
            config["secret_access_key"] = options.secret_access_key
        retry: RetryConfig = {"max_retries": 2, "retry_timeout": timedelta(seconds=20)}
        store = S3Store(
            bucket, prefix=prefix or None, config=config, client_options=client, retry_config=retry
        )
        return cls(store, can_sign=True)

    def _attributes(self, media_type: str | None) -> Attributes | None:
        # Only stores that serve objects themselves keep it (LocalStore refuses attributes).
        if media_type is None or not self.can_sign:
            return None
        return {"Content-Type": media_type}

    async def put(self, key: str, data: bytes, *, media_type: str | None = None) -> None:
        try:
            await obstore.put_async(self.store, key, data, attributes=self._attributes(media_type))
        except (BaseError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def put_file(self, key: str, path: Path, *, media_type: str | None = None) -> None:
        try:
            await obstore.put_async(self.store, key, path, attributes=self._attributes(media_type))
        except (BaseError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def get(self, key: str) -> bytes:
        try:
            result = await obstore.get_async(self.store, key)
            return bytes(await result.bytes_async())
        except FileNotFoundError as exc:
            raise NotFound("Stored object not found.", code="object_not_found") from exc
        except (BaseError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return False
        except (BaseError, OSError) as exc:
            raise _unavailable(exc) from exc
        return True

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self.store, key)
        except FileNotFoundError:
            return
        except (BaseError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def delete_prefix(self, prefix: str) -> None:
        try:
            keys = [
                meta["path"]
                async for batch in obstore.list(self.store, prefix=prefix)
                for meta in batch
            ]
            if keys:
                await obstore.delete_async(self.store, keys)
        except FileNotFoundError:
            return
        except (BaseError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def read(self, key: str) -> StoredObject:
        if self._root is not None:
            local = self._local_path(key)
            if local is None:
                raise NotFound("Stored object not found.", code="object_not_found")
            try:
                return StoredObject(size=(await anyio.Path(local).stat()).st_size, path=local)
            except FileNotFoundError as exc:
                raise NotFound("Stored object not found.", code="object_not_found") from exc
        try:
            result = await obstore.get_async(self.store, key)
        except FileNotFoundError as exc:
            raise NotFound("Stored object not found.", code="object_not_found") from exc
        except (BaseError, OSError) as exc:
            raise _unavailable(exc) from exc
        size = int(result.meta["size"])
        if size <= INLINE_READ:
            return StoredObject(size=size, data=bytes(await result.bytes_async()))

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in result.stream(min_chunk_size=256 * 1024):
                yield bytes(chunk)

        return StoredObject(size=size, chunks=chunks())

    def _local_path(self, key: str) -> Path | None:
        """The object's file, where the store keeps files (it is then sent with sendfile)."""
        if self._root is None:
            return None
        # Keys are ours, but a path must never leave the store's folder (no resolve(): it costs
        # a system call per path component on the hottest path).
        if key.startswith("/") or ".." in key.split("/"):
            return None
        return self._root / key

    async def ping(self) -> None:
        try:
            await asyncio.wait_for(self.exists("__ping__"), timeout=5)
        except TimeoutError as exc:
            raise _unavailable(exc) from exc


class PresignedLinks:
    """DownloadLinks presigned by the store itself (S3): downloads never pass through us. The
    object carries its Content-Type from when it was stored."""

    def __init__(self, storage: ObstoreStorage, *, ttl: int, now: Callable[[], datetime]) -> None:
        if not storage.can_sign:
            raise ValueError("This store cannot sign its own links.")
        self._store = storage.store
        self._ttl = ttl
        self._now = now

    async def link(
        self, key: str, *, filename: str, media_type: str, base_url: str
    ) -> DownloadLink:
        expires = int(self._now().timestamp()) + self._ttl
        url = await obstore.sign_async(self._store, "GET", key, timedelta(seconds=self._ttl))
        return DownloadLink(str(url), datetime.fromtimestamp(expires, UTC))

    def genuine(
        self, key: str, *, filename: str, media_type: str, expires: int, signature: str
    ) -> bool:
        return False
