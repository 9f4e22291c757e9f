"""Presets: defined by an owner (or an admin, for everyone), expanded in signed and unsigned URLs
and in jobs, and what they made purged when they are edited or deleted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pixelpress.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unprocessable
from pixelpress.domain.keys import record_key
from pixelpress.domain.models import Role, User
from pixelpress.domain.spec import parse_spec
from pixelpress.usecases import presets
from pixelpress.usecases.delivery import Deliverer, deliver
from pixelpress.usecases.preset_expansion import preset_spec
from pixelpress.usecases.presets import PresetInput, PresetStore
from pixelpress.usecases.records import RecordCache
from pixelpress.usecases.signed_urls import SignedRequest, UrlKeys, mint_url, read_url
from pixelpress.usecases.transforms import request_transform
from tests.fakes import read_fake
from tests.unit.usecases.conftest import World

KEYS = UrlKeys(("key",))
NOW = 1_800_000_000.0
THUMB = "w_200,h_200,c_cover,g_auto,q_75"


def store(world: World) -> PresetStore:
    records = RecordCache(world.cache, inline_bytes=64 * 1024)
    return PresetStore(world.db, world.cache, world.storage, records, world.clock, world.limits)


async def define(
    world: World, user: User, name: str = "thumb", options: str = THUMB, **fields: bool
) -> None:
    given = PresetInput(options=options, public=fields.get("public", False))
    is_global = fields.get("is_global", False)
    await presets.define_preset(name, given, is_global=is_global, user=user, s=store(world))


async def read(world: World, url: str, d: Deliverer | None = None) -> SignedRequest:
    signature, options, image = url.split("/i/", 1)[1].split("/")
    return await read_url(
        signature, options, image, headers={}, keys=KEYS, limits=world.limits, now=NOW,
        d=d or world.deliverer(),
    )  # fmt: skip


async def test_the_json_form_and_the_url_form_are_kept_alike(world: World) -> None:
    alice = await world.user()
    await define(world, alice, "a", options="q_75,g_auto,c_cover,h_200,w_200")
    json_form = PresetInput(
        transformations={
            "resize": {"width": 200, "height": 200, "fit": "cover", "gravity": "auto"},
            "quality": 75,
        }
    )
    made = await presets.define_preset("b", json_form, is_global=False, user=alice, s=store(world))
    listed = await presets.list_presets(user=alice, db=world.db)
    assert [p.options for p in listed] == [THUMB, THUMB]
    assert made.options == THUMB


async def test_names_scopes_and_bad_definitions(world: World) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    root = await world.user("root")
    root.role = Role.ADMIN
    await define(world, root, options="w_100", is_global=True)
    await define(world, alice)  # shadows the global one for her
    with pytest.raises(Conflict):
        await define(world, alice)
    with pytest.raises(Forbidden):
        await define(world, bob, "mine", is_global=True)
    for bad in ("w_0", "w_x", "nope_1", "t_other", "w_10,exp_99", "_"):
        with pytest.raises(Unprocessable):
            await define(world, alice, "bad", options=bad)
    picture = await world.image(bob)
    with pytest.raises(Unprocessable):  # another user's image as a watermark
        await define(world, alice, "bad", options=f"w_10,wi_{picture.id}")
    with pytest.raises(InvalidInput, match="preset name"):
        await define(world, alice, "Not_A_Slug")
    assert (await presets.get_preset("thumb", is_global=False, user=alice, db=world.db)).options
    mine = await presets.get_preset("thumb", is_global=False, user=alice, db=world.db)
    his = await presets.get_preset("thumb", is_global=False, user=bob, db=world.db)
    assert (mine.options, his.options) == (THUMB, "w_100")
    assert {p.name for p in await presets.list_presets(user=bob, db=world.db)} == {"thumb"}


async def test_urls_name_presets_and_their_own_options_override(world: World) -> None:
    alice = await world.user()
    image = await world.image(alice, 800, 600)
    await define(world, alice)
    minted = await mint_url(
        image.id, parse_spec({"resize": {"width": 300, "height": 300}}), user=alice,
        db=world.db, limits=world.limits, keys=KEYS, base_url="http://x", now=NOW,
        preset="thumb", cache=world.cache,
    )  # fmt: skip
    assert minted.options == f"t_thumb,w_300,h_300,c_cover,v_{image.content_hash[:8]}"
    asked = await read(world, minted.url)
    expected = parse_spec(
        {"resize": {"width": 300, "height": 300, "gravity": "auto"}, "quality": 75}
    )
    assert asked.spec == expected and len(asked.presets) == 1
    with pytest.raises(NotFound):  # no such preset: refused when minting
        await mint_url(
            image.id, None, user=alice, db=world.db, limits=world.limits, keys=KEYS,
            base_url="http://x", now=NOW, preset="missing", cache=world.cache,
        )  # fmt: skip
    signature = minted.url.split("/i/", 1)[1].split("/")[0]
    with pytest.raises(Forbidden):  # other options under the same signature
        await read(world, f"http://x/i/{signature}/t_thumb/{image.id}")


async def test_unsigned_urls_take_only_public_presets(world: World) -> None:
    alice = await world.user()
    image = await world.image(alice)
    await define(world, alice, "open", options="w_100", public=True)
    await define(world, alice, "closed", options="w_100")
    asked = await read(world, f"http://x/i/-/t_open/{image.id}.webp")
    assert asked.spec == parse_spec({"resize": {"width": 100}, "format": "webp"})
    assert (await read(world, f"http://x/i/-/t_open,f_auto/{image.id}")).auto_format
    for refused in ("t_closed", "t_open,w_10", "t_open,t_closed", "_", "w_10"):
        with pytest.raises(Forbidden):
            await read(world, f"http://x/i/-/{refused}/{image.id}")
    with pytest.raises(NotFound):
        await read(world, f"http://x/i/-/t_missing/{image.id}")


async def test_editing_a_preset_purges_what_it_made_and_urls_follow(world: World) -> None:
    alice = await world.user()
    image = await world.image(alice, 800, 600)
    await define(world, alice, "open", options="w_100", public=True)
    url = f"http://x/i/-/t_open/{image.id}"
    asked = await read(world, url)
    d = world.deliverer(presets=asked.presets)
    first = await deliver(image.id, asked.spec, d=d)
    assert read_fake(first.data or b"").width == 100
    # An explicit variant of the same image, not made through the preset: it stays.
    other = await deliver(image.id, parse_spec({"resize": {"width": 50}}), d=world.deliverer())
    assert await world.cache.get(record_key(image.id, first.spec_hash)) is not None

    edited = PresetInput(options="w_120", public=True)
    await presets.edit_preset("open", edited, is_global=False, user=alice, s=store(world))
    assert await world.cache.get(record_key(image.id, first.spec_hash)) is None
    assert not await world.storage.exists(first.key)
    assert await world.storage.exists(other.key)
    async with world.db.unit_of_work(readonly=True) as uow:
        left = (await uow.variants.list_for_images([image.id]))[image.id]
    assert [v.spec_hash for v in left] == [other.spec_hash]
    again = await read(world, url)
    second = await deliver(image.id, again.spec, d=replace(d, presets=again.presets))
    assert read_fake(second.data or b"").width == 120

    await presets.delete_preset("open", is_global=False, user=alice, s=store(world))
    assert not await world.storage.exists(second.key)
    with pytest.raises(NotFound):
        await read(world, url)


async def test_jobs_made_through_a_preset_are_purged_with_it(world: World) -> None:
    alice = await world.user()
    image = await world.image(alice, 800, 600)
    await world.work()
    await define(world, alice)
    settled = await preset_spec(
        image.id, "thumb", parse_spec({"quality": 50}), user=alice, db=world.db,
        cache=world.cache, limits=world.limits,
    )  # fmt: skip
    assert settled.spec == parse_spec(
        {"resize": {"width": 200, "height": 200, "gravity": "auto"}, "quality": 50}
    )
    queued = await request_transform(
        image.id, settled.spec, user=alice, db=world.db, queue=world.jobs, clock=world.clock,
        limits=world.limits, presets=settled.presets,
    )  # fmt: skip
    await world.work()
    async with world.db.unit_of_work(readonly=True) as uow:
        made = await uow.variants.get(queued.variant.id)
    assert made is not None and made.width == 200
    await presets.delete_preset("thumb", is_global=False, user=alice, s=store(world))
    async with world.db.unit_of_work(readonly=True) as uow:
        assert await uow.variants.get(queued.variant.id) is None
    assert not await world.storage.exists(made.storage_key)
