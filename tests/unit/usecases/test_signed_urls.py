"""Signed URLs: minted for an owner's image, read back until they expire, refused when forged,
and still read after a key rotation."""

from __future__ import annotations

import pytest

from pixelpress.domain.errors import Forbidden, NotFound
from pixelpress.domain.spec import parse_spec
from pixelpress.usecases.signed_urls import UrlKeys, mint_url, read_signed
from tests.unit.usecases.conftest import World

KEYS = UrlKeys(("current key",))
NOW = 1_800_000_000.0


def parts(url: str) -> tuple[str, str, str]:
    signature, options, image = url.split("/i/", 1)[1].split("/")
    return signature, options, image


async def test_a_minted_url_reads_back_until_it_expires(world: World) -> None:
    owner = await world.user()
    image = await world.image(owner)
    spec = parse_spec({"resize": "300x", "format": "webp"})
    minted = await mint_url(
        image.id, spec, user=owner, db=world.db, limits=world.limits, keys=KEYS,
        base_url="https://img.example.com/", expires_in=60, now=NOW,
    )  # fmt: skip
    assert minted.url.startswith("https://img.example.com/i/")
    assert minted.expires_at == int(NOW) + 60
    asked = read_signed(*parts(minted.url), accept="", keys=KEYS, limits=world.limits, now=NOW + 59)
    assert (asked.image_id, asked.spec, asked.expires) == (image.id, spec, int(NOW) + 60)
    with pytest.raises(Forbidden):
        read_signed(*parts(minted.url), accept="", keys=KEYS, limits=world.limits, now=NOW + 61)


async def test_forged_and_rotated_keys(world: World) -> None:
    owner = await world.user()
    image = await world.image(owner)
    minted = await mint_url(
        image.id, None, user=owner, db=world.db, limits=world.limits, keys=KEYS,
        base_url="http://x", now=NOW,
    )  # fmt: skip
    signature, options, image_id = parts(minted.url)
    rotated = UrlKeys(("a newer key", *KEYS.keys))  # the old key still reads its URLs
    assert read_signed(signature, options, image_id, accept="", keys=rotated,
                       limits=world.limits, now=NOW).spec is None  # fmt: skip
    for forged in (
        (signature, "w_10", image_id),  # other options under the same signature
        (signature[:-1] + ("A" if signature[-1] != "A" else "B"), options, image_id),
        (signature, options, image_id + ".png"),
    ):
        with pytest.raises(Forbidden):
            read_signed(*forged, accept="", keys=KEYS, limits=world.limits, now=NOW)
    with pytest.raises(Forbidden):  # dropped from the keys: its URLs stop working
        read_signed(signature, options, image_id, accept="", keys=UrlKeys(("a newer key",)),
                    limits=world.limits, now=NOW)  # fmt: skip


async def test_only_the_owner_mints(world: World) -> None:
    owner = await world.user()
    other = await world.user("bob")
    image = await world.image(owner)
    with pytest.raises(NotFound):
        await mint_url(
            image.id, None, user=other, db=world.db, limits=world.limits, keys=KEYS,
            base_url="http://x", now=NOW,
        )  # fmt: skip
