"""PresetRepository, over SQLite and PostgreSQL: names unique per owner and in the global scope,
own and global listed together, links to variants purged with them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pixelpress.domain.errors import Conflict
from pixelpress.domain.ids import new_id
from pixelpress.domain.presets import Preset
from pixelpress.ports import Database
from tests.contract.entities import NOW, image, job, seed_job, user, variant


def preset(owner_id: str | None, name: str = "thumb", options: str = "w_200") -> Preset:
    return Preset(new_id(), owner_id, name, options, False, NOW, NOW)


async def test_presets_round_trip_unique_per_scope(database: Database) -> None:
    alice, bob = user("alice"), user("bob")
    mine, his, everyone = preset(alice.id), preset(bob.id), preset(None, options="w_100")
    async with database.unit_of_work() as uow:
        await uow.users.add(alice)
        await uow.users.add(bob)
        for p in (mine, his, everyone):
            await uow.presets.add(p)
        await uow.commit()
    for taken in (preset(alice.id), preset(None)):
        async with database.unit_of_work() as uow:
            with pytest.raises(Conflict):
                await uow.presets.add(taken)
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.presets.get(alice.id, "thumb") == mine
        assert await uow.presets.get(None, "thumb") == everyone
        assert await uow.presets.get(alice.id, "other") is None
        listed = await uow.presets.list_for(alice.id)
    assert [p.id for p in listed] == [mine.id, everyone.id]  # the owner's first
    edited = replace(mine, options="w_300", public=True, updated_at=NOW.replace(year=2027))
    async with database.unit_of_work() as uow:
        await uow.presets.update(edited)
        await uow.presets.delete(his.id)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.presets.get(alice.id, "thumb") == edited
        assert await uow.presets.get(bob.id, "thumb") is None


async def test_purging_removes_only_the_variants_made_through_the_preset(
    database: Database,
) -> None:
    seeded = await seed_job(database)
    other = variant(seeded.image, "hash2")
    kept = variant(seeded.image, "hash3")
    mine, everyone = preset(seeded.user.id), preset(None)
    async with database.unit_of_work() as uow:
        for v in (other, kept):
            await uow.variants.add(v)
        await uow.jobs.add(job(other, seeded.user))
        await uow.presets.add(mine)
        await uow.presets.add(everyone)
        await uow.presets.link([mine.id], seeded.image.id, seeded.variant.spec_hash)
        await uow.presets.link([mine.id, everyone.id], seeded.image.id, "hash2")
        await uow.presets.link([mine.id], seeded.image.id, "hash2")  # twice: no change
        await uow.presets.link([everyone.id], seeded.image.id, "hash3")
        await uow.presets.link([new_id()], seeded.image.id, "hash3")  # deleted meanwhile: skipped
        await uow.commit()
    async with database.unit_of_work() as uow:
        purged = await uow.presets.purge_variants(mine.id)
        await uow.commit()
    assert {v.id for v in purged} == {seeded.variant.id, other.id}
    async with database.unit_of_work(readonly=True) as uow:
        left = (await uow.variants.list_for_images([seeded.image.id]))[seeded.image.id]
        jobs = (await uow.jobs.list_for_images([seeded.image.id]))[seeded.image.id]
    assert [v.id for v in left] == [kept.id]
    assert jobs == []
    async with database.unit_of_work() as uow:  # the global one's link to hash2 went too
        assert [v.id for v in await uow.presets.purge_variants(everyone.id)] == [kept.id]
        assert await uow.presets.purge_variants(mine.id) == []


async def test_links_go_with_their_variants_and_presets_with_their_owner(
    database: Database,
) -> None:
    alice = user()
    picture = image(alice)
    made = variant(picture)
    mine = preset(alice.id)
    async with database.unit_of_work() as uow:
        await uow.users.add(alice)
        await uow.images.add(picture)
        await uow.variants.add(made)
        await uow.presets.add(mine)
        await uow.presets.link([mine.id], picture.id, made.spec_hash)
        await uow.commit()
    async with database.unit_of_work() as uow:
        await uow.images.delete(picture.id)
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.presets.purge_variants(mine.id) == []
        await uow.users.delete(alice.id)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.presets.get(alice.id, "thumb") is None
