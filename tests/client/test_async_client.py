"""`AsyncClient`: the same operations, awaited, against a live `pixelpress serve`."""

from __future__ import annotations

import asyncio
import io
import uuid

import pytest
import pyvips

from pixelpress.client import AsyncClient, NotFoundError, Tokens
from tests.client.live import PASSWORD, Server
from tests.client.test_client import expired
from tests.images import photo

pytestmark = pytest.mark.e2e


async def test_the_walk_awaited(server: Server) -> None:
    name = f"async{uuid.uuid4().hex[:8]}"
    async with AsyncClient(server.base) as pp:
        await pp.register(name, f"{name}@example.com", PASSWORD)
        counts: list[int] = []
        data = photo(900, 700, ".png")
        uploaded = await pp.upload(data, progress=lambda sent, _: counts.append(sent))
        assert counts[-1] == len(data) and len(counts) > 1
        second = await pp.upload(photo(100, 80), filename="second.jpg")
        done = await pp.transform(
            uploaded.image_id, {"resize": "120x", "format": "webp"}, wait=True
        )
        assert done.job is not None and done.job.status == "processed"
        out = io.BytesIO()
        assert await pp.download(uploaded.image_id, out) == done.variant.size
        assert pyvips.Image.new_from_buffer(out.getvalue(), "").width == 120
        ids = [image.id async for image in pp.iter_images(limit=1)]
        assert sorted(ids) == sorted([uploaded.image_id, second.image_id])
        await pp.delete_image(second.image_id)
        with pytest.raises(NotFoundError):
            await pp.get_image(second.image_id)
        await pp.logout()
        assert pp.tokens is None


async def test_concurrent_requests_refresh_an_expired_token_once(server: Server) -> None:
    with server.signed_up() as first:
        held = first.tokens
    assert held is not None
    told: list[Tokens | None] = []
    stale = Tokens(expired(held.access_token), held.refresh_token)
    async with AsyncClient(server.base, tokens=stale, on_tokens=told.append) as pp:
        users = await asyncio.gather(*(pp.me() for _ in range(6)))
        assert len({user.id for user in users}) == 1
        # One refresh: a second one would have spent the same refresh token twice, which the
        # service answers by revoking the whole session.
        assert len(told) == 1
        assert (await pp.me()).id == users[0].id


async def test_presets_awaited(server: Server) -> None:
    name = f"async{uuid.uuid4().hex[:8]}"
    async with AsyncClient(server.base) as pp:
        await pp.register(name, f"{name}@example.com", PASSWORD)
        image_id = (await pp.upload(photo(300, 200))).image_id
        await pp.create_preset("small", "w_60")
        done = await pp.transform(image_id, {"preset": "small", "format": "png"}, wait=True)
        assert (done.variant.width, done.variant.format) == (60, "png")
        assert [p.options for p in await pp.list_presets()] == ["w_60"]
        await pp.delete_preset("small")
        assert (await pp.get_image(image_id)).variants == []  # purged with it
        with pytest.raises(NotFoundError):
            await pp.get_preset("small")
