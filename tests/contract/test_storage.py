from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pixelpress.domain.errors import NotFound
from pixelpress.ports import ObjectStorage, StoredObject


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
        await storage.read("nope")


async def body_of(stored: StoredObject) -> bytes:
    if stored.path is not None:
        return stored.path.read_bytes()
    if stored.data is not None:
        return stored.data
    assert stored.chunks is not None
    return b"".join([chunk async for chunk in stored.chunks])


@pytest.mark.parametrize("size", [5, 1024 * 1024])  # read whole, or streamed in chunks
async def test_put_file_and_read(storage: ObjectStorage, tmp_path: Path, size: int) -> None:
    payload = (bytes(range(256)) * 4096)[:size]
    source = tmp_path / "upload.bin"
    source.write_bytes(payload)
    await storage.put_file("images/x/original", source)
    stored = await storage.read("images/x/original")
    assert stored.size == size
    assert sum(x is not None for x in (stored.path, stored.data, stored.chunks)) == 1
    assert await body_of(stored) == payload


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


async def test_a_local_store_hands_out_paths_inside_its_folder(
    storage: ObjectStorage,
) -> None:
    await storage.put("images/p/original", b"bytes on disk")
    stored = await storage.read("images/p/original")
    if stored.path is None:  # memory and S3 keep no files here
        return
    assert stored.path.read_bytes() == b"bytes on disk"
    with pytest.raises(NotFound):  # a key never leads out of the store's folder
        await storage.read("../../etc/passwd")


async def test_download_links(storage: ObjectStorage) -> None:
    """Presigned by the store where it signs (S3), else links of our own that the /files
    route checks: genuine as made, not once anything in them changes."""
    import httpx

    from pixelpress.adapters.links_signed import SignedFileLinks
    from pixelpress.adapters.storage_obstore import ObstoreStorage, PresignedLinks

    assert isinstance(storage, ObstoreStorage)
    await storage.put("signed/x.bin", b"payload", media_type="image/png")
    now = lambda: datetime.now(UTC)  # noqa: E731
    if storage.can_sign:
        presigned = PresignedLinks(storage, ttl=60, now=now)
        link = await presigned.link(
            "signed/x.bin", filename="x.png", media_type="image/png", base_url="http://x"
        )
        async with httpx.AsyncClient() as client:
            got = await client.get(link.url)
        assert got.status_code == 200
        assert got.content == b"payload"
        assert got.headers["content-type"] == "image/png"
        return
    ours = SignedFileLinks("a secret long enough for hmac", ttl=60, now=now)
    link = await ours.link(
        "signed/x.bin", filename="x.png", media_type="image/png", base_url="http://x/"
    )
    assert link.url.startswith("http://x/files/signed/x.bin?")
    query = dict(part.split("=", 1) for part in link.url.split("?", 1)[1].split("&"))
    args = {"filename": "x.png", "media_type": "image/png", "expires": int(query["expires"])}
    assert ours.genuine("signed/x.bin", **args, signature=query["signature"])  # type: ignore[arg-type]
    assert not ours.genuine("signed/y.bin", **args, signature=query["signature"])  # type: ignore[arg-type]
    forged = args | {"media_type": "text/html"}
    assert not ours.genuine("signed/x.bin", **forged, signature=query["signature"])  # type: ignore[arg-type]
