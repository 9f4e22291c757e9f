"""Replacing or deleting an image purges what was made of it (stored objects, cached records,
rows) and touches nothing of any other image."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pixelpress.domain.errors import NotFound
from pixelpress.domain.keys import card_key, record_key
from pixelpress.domain.models import Image, User
from pixelpress.domain.spec import parse_spec
from pixelpress.usecases.delivery import deliver
from pixelpress.usecases.images import delete_image
from pixelpress.usecases.transforms import request_transform
from tests.fakes import read_fake
from tests.unit.usecases.conftest import World

BY_JOB = parse_spec({"rotate": 90, "format": "png"})
ON_THE_FLY = parse_spec({"resize": {"width": 300}})


@dataclass(frozen=True)
class Made:
    """What exists of one image: its stored objects and cache entries (with their values)."""

    objects: frozenset[str]
    cached: dict[str, bytes]


async def make_everything(world: World, owner: User, image: Image) -> Made:
    """A variant by a job and one on the fly (which leaves records in the cache); returns what
    is stored and cached for the image then."""
    await request_transform(
        image.id, BY_JOB, user=owner, db=world.db, queue=world.jobs, clock=world.clock,
        limits=world.limits,
    )  # fmt: skip
    await world.work()
    await deliver(image.id, ON_THE_FLY, d=world.deliverer(), viewer=owner)
    return await made_of(world, image)


async def made_of(world: World, image: Image) -> Made:
    async with world.db.unit_of_work(readonly=True) as uow:
        variants = (await uow.variants.list_for_images([image.id]))[image.id]
    objects = {image.storage_key, *(v.storage_key for v in variants)}
    keys = [card_key(image.id)]
    keys += [record_key(image.id, v.spec_hash) for v in variants]
    cached = {key: value for key in keys if (value := await world.cache.get(key)) is not None}
    stored = [key for key in objects if await world.storage.exists(key)]
    return Made(frozenset(stored), cached)


async def still_there(world: World, made: Made) -> bool:
    objects = [await world.storage.exists(key) for key in made.objects]
    cached = {key: await world.cache.get(key) for key in made.cached}
    return all(objects) and cached == made.cached


async def nothing_left(world: World, made: Made) -> bool:
    objects = [await world.storage.exists(key) for key in made.objects]
    cached = [await world.cache.get(key) for key in made.cached]
    return not any(objects) and cached == [None] * len(cached)


@pytest.fixture
async def three(world: World) -> tuple[User, list[Image], list[Made]]:
    """Alice's large image (it has renditions), another of hers, and one of Bob's, each with
    variants stored and records cached."""
    alice, bob = await world.user("alice"), await world.user("bob")
    images = [
        await world.image(alice, 2400, 1800),
        await world.image(alice),
        await world.image(bob),
    ]
    await world.work()  # the renditions: 2048, 1024 and 512 px
    made = [
        await make_everything(world, owner, image)
        for owner, image in zip((alice, alice, bob), images, strict=True)
    ]
    # original, three renditions, the job's, the on-the-fly one (made from the 512 px level)
    assert len(made[0].objects) == 6
    assert card_key(images[0].id) in made[0].cached and len(made[0].cached) >= 2
    return alice, images, made


async def test_delete_purges_the_image_and_nothing_else(
    world: World, three: tuple[User, list[Image], list[Made]]
) -> None:
    alice, (gone, *kept), (made, *others) = three
    await delete_image(gone.id, user=alice, db=world.db, storage=world.storage, cache=world.cache)
    assert await nothing_left(world, made)
    for other in others:
        assert await still_there(world, other)
    async with world.db.unit_of_work(readonly=True) as uow:
        assert await uow.images.get(gone.id) is None
        assert (await uow.variants.list_for_images([gone.id]))[gone.id] == []
        assert (await uow.jobs.list_for_images([gone.id]))[gone.id] == []
        for image in kept:
            assert await uow.images.get(image.id) == image
    with pytest.raises(NotFound):  # not served from anything left behind
        await deliver(gone.id, ON_THE_FLY, d=world.deliverer(), viewer=alice)


async def test_replace_purges_the_old_bytes_work_and_nothing_else(
    world: World, three: tuple[User, list[Image], list[Made]]
) -> None:
    alice, (image, *kept), (made, *others) = three
    new = (await world.replace(image, alice, 1800, 2400)).image
    assert (new.id, new.owner_id, new.created_at) == (image.id, image.owner_id, image.created_at)
    assert (new.width, new.height) == (1800, 2400) and new.content_hash != image.content_hash
    assert await nothing_left(world, made)
    assert await world.storage.exists(new.storage_key)
    for other in others:
        assert await still_there(world, other)
    async with world.db.unit_of_work(readonly=True) as uow:
        assert await uow.images.get(image.id) == new
        variants = (await uow.variants.list_for_images([image.id]))[image.id]
        jobs = (await uow.jobs.list_for_images([image.id]))[image.id]
        for other_image in kept:
            assert await uow.images.get(other_image.id) == other_image
    # only the new bytes' rendition, queued afresh
    assert len(variants) == 1 and [j.variant_id for j in jobs] == [variants[0].id]
    assert [w.item_id for w in world.jobs.waiting] == [jobs[0].id]
    # the next render starts from the new bytes
    asked = len(world.processor.rendered)
    served = await deliver(image.id, ON_THE_FLY, d=world.deliverer(), viewer=alice)
    assert len(world.processor.rendered) == asked + 1
    rendered = read_fake(served.data or await world.storage.get(served.key))
    assert (rendered.width, rendered.height) == (300, 400)
