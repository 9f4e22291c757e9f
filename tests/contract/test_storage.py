from __future__ import annotations

from pathlib import Path

import pytest

from pixelpress.domain.errors import NotFound
from pixelpress.ports import ObjectStorage


async def test_put_get_exists_delete(storage: ObjectStorage) -> None:
    assert not await storage.exists("a/b.bin")
    await storage.put("a/b.bin", b"hello")
    assert await storage.exists("a/b.bin")
    assert await storage.get("a/b.bin") == b"hello"
    await storage.put("a/b.bin", b"again")  # overwrite is how idempotent jobs rewrite
    assert await storage.get("a/b.bin") == b"again"
    await storage.delete("a/b.bin")
    await storage.delete("a/b.bin")  # idempotent
    assert not await storage.exists("a/b.bin")


async def test_missing_objects_are_not_found(storage: ObjectStorage) -> None:
    with pytest.raises(NotFound):
        await storage.get("nope")
    with pytest.raises(NotFound):
        async for _ in storage.stream("nope"):
            pass


async def test_put_file_and_stream(storage: ObjectStorage, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB, several chunks
    source = tmp_path / "upload.bin"
    source.write_bytes(payload)
    await storage.put_file("images/x/original", source)
    chunks = [chunk async for chunk in storage.stream("images/x/original")]
    assert b"".join(chunks) == payload


async def test_delete_prefix_removes_only_that_prefix(storage: ObjectStorage) -> None:
    await storage.put("images/1/original", b"1")
    await storage.put("images/1/variants/a.webp", b"2")
    await storage.put("images/10/original", b"3")
    await storage.delete_prefix("images/1/")
    assert not await storage.exists("images/1/original")
    assert not await storage.exists("images/1/variants/a.webp")
    assert await storage.exists("images/10/original")
    await storage.delete_prefix("images/nothing/")


async def test_ping(storage: ObjectStorage) -> None:
    await storage.ping()


async def test_presigned_urls_where_the_store_signs(storage: ObjectStorage) -> None:
    import httpx

    await storage.put("signed/x.bin", b"payload")
    url = await storage.presigned_url("signed/x.bin", expires_in=60, filename="x.bin")
    if url is None:  # local and memory stores: the API signs its own /files links
        return
    async with httpx.AsyncClient() as client:
        got = await client.get(url)
    assert got.status_code == 200
    assert got.content == b"payload"


async def test_local_path_only_where_the_store_keeps_files(storage: ObjectStorage) -> None:
    await storage.put("images/p/original", b"bytes on disk")
    path = storage.local_path("images/p/original")
    if path is None:  # memory and S3 keep no files here
        return
    assert path.read_bytes() == b"bytes on disk"
    assert storage.local_path("../../etc/passwd") is None
