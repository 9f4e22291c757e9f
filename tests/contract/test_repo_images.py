"""ImageRepository and VariantRepository, over SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pixelpress.domain.errors import Conflict
from pixelpress.domain.ids import new_id
from pixelpress.domain.models import (
    ImageFilter,
    ImageFormat,
    ImageOrder,
    Page,
    Variant,
    VariantStatus,
)
from pixelpress.domain.spec import OutputFormat, parse_spec
from pixelpress.ports import Database
from tests.contract.entities import NOW, image, job, seed_job, user, variant


async def test_images_round_trip_and_lock(database: Database) -> None:
    u = user()
    i = replace(image(u), frames=3, blurhash="LEHV6nWB2yk8", dominant_color="#aabbcc")
    async with database.unit_of_work() as uow:
        await uow.users.add(u)
        await uow.images.add(i)
        await uow.commit()
    async with database.unit_of_work() as uow:  # a writer may lock what it reads
        assert await uow.images.get(i.id, lock=True) == i
        assert await uow.images.get(new_id(), lock=True) is None
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        got = await uow.images.get(i.id)
    assert got == i and got is not None and got.format is ImageFormat.JPEG


async def test_images_list_newest_first_per_owner(database: Database) -> None:
    alice, bob = user("alice"), user("bob")
    images = [image(alice, minutes=m) for m in range(5)]
    async with database.unit_of_work() as uow:
        await uow.users.add(alice)
        await uow.users.add(bob)
        for i in [*images, image(bob)]:
            await uow.images.add(i)
        await uow.commit()
    async with database.unit_of_work() as uow:
        first = await uow.images.list_page(alice.id, Page(1, 2))
        last = await uow.images.list_page(alice.id, Page(3, 2))
        everyone = await uow.images.list_page(None, Page(1, 100))
        named = await uow.images.find_by_filename(alice.id, "a.jpg")
        not_hers = await uow.images.find_by_filename(alice.id, "b.jpg")
        ids = await uow.images.ids_of_owner(alice.id)
        none = await uow.images.ids_of_owner(new_id())
    assert [i.id for i in first.items] == [images[4].id, images[3].id]
    assert [i.id for i in last.items] == [images[0].id]
    assert first.total == 5 and first.pages == 3
    assert everyone.total == 6
    assert named is not None and named.id == images[4].id  # the newest of that name
    assert not_hers is None
    assert sorted(ids) == sorted(i.id for i in images) and none == []


async def test_images_sort_by_name_or_date_and_filter_by_filename(database: Database) -> None:
    alice, bob = user("alice"), user("bob")
    names = ["beta.png", "Alpha.jpg", "gamma_1.jpg", "100%.jpg", "alphabet.webp"]
    mine = [image(alice, minutes=m, filename=n) for m, n in enumerate(names)]
    async with database.unit_of_work() as uow:
        await uow.users.add(alice)
        await uow.users.add(bob)
        for i in [*mine, image(bob, filename="alphaz.jpg")]:
            await uow.images.add(i)
        await uow.commit()

    async def listed(where: ImageFilter, owner: str | None = alice.id) -> list[str]:
        async with database.unit_of_work(readonly=True) as uow:
            found = await uow.images.list_page(owner, Page(1, 100), where)
        assert found.total == len(found.items)
        return [i.filename for i in found.items]

    assert await listed(ImageFilter()) == names[::-1]
    assert await listed(ImageFilter(ImageOrder.OLDEST)) == names
    by_name = ["100%.jpg", "Alpha.jpg", "alphabet.webp", "beta.png", "gamma_1.jpg"]
    assert await listed(ImageFilter(ImageOrder.NAME)) == by_name  # case ignored
    assert await listed(ImageFilter(ImageOrder.NAME_DESC)) == by_name[::-1]
    assert await listed(ImageFilter(ImageOrder.NAME, "ALPHA")) == ["Alpha.jpg", "alphabet.webp"]
    assert await listed(ImageFilter(filename="%")) == ["100%.jpg"]  # LIKE wildcards are text
    assert await listed(ImageFilter(filename="a_1")) == ["gamma_1.jpg"]
    assert await listed(ImageFilter(filename="nothing")) == []
    everyone = await listed(ImageFilter(ImageOrder.NAME, "alpha"), owner=None)
    assert everyone == ["Alpha.jpg", "alphabet.webp", "alphaz.jpg"]
    async with database.unit_of_work(readonly=True) as uow:
        second = await uow.images.list_page(alice.id, Page(2, 2), ImageFilter(ImageOrder.NAME))
    assert [i.filename for i in second.items] == by_name[2:4]
    assert second.total == 5


async def test_deleting_an_image_takes_its_variants_and_jobs_only(database: Database) -> None:
    gone = await seed_job(database, "alice")
    kept = await seed_job(database, "bob")
    async with database.unit_of_work() as uow:
        await uow.images.delete(gone.image.id)
        await uow.images.delete(new_id())  # nothing there: nothing happens
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.images.get(gone.image.id) is None
        assert await uow.variants.get(gone.variant.id) is None
        assert await uow.jobs.get(gone.job.id) is None
        assert await uow.users.get(gone.user.id) is not None
        assert await uow.images.get(kept.image.id) == kept.image
        assert await uow.variants.get(kept.variant.id) == kept.variant
        assert await uow.jobs.get(kept.job.id) == kept.job


async def test_replacing_an_image_keeps_its_row_and_drops_its_work(database: Database) -> None:
    old = await seed_job(database, "alice")
    other = await seed_job(database, "bob")
    new = replace(
        old.image,
        filename="new.png",
        format=ImageFormat.PNG,
        width=30,
        height=20,
        size=999,
        content_hash="n" * 64,
        storage_key=f"images/{old.image.id}/original-2",
    )
    async with database.unit_of_work() as uow:
        await uow.images.replace(new)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.images.get(old.image.id) == new
        assert (await uow.variants.list_for_images([old.image.id]))[old.image.id] == []
        assert (await uow.jobs.list_for_images([old.image.id]))[old.image.id] == []
        assert await uow.images.get(other.image.id) == other.image
        assert await uow.jobs.get(other.job.id) == other.job


async def test_totals_count_originals_and_variants(database: Database) -> None:
    u = user()
    first, second = image(u, size=1000), image(u, minutes=1, size=500)
    sized = variant(first, "hash1", size=70)
    unsized = variant(first, "hash2")  # pending: no bytes yet
    async with database.unit_of_work() as uow:
        assert await uow.images.totals() == (0, 0)
        await uow.users.add(u)
        for i in (first, second):
            await uow.images.add(i)
        for v in (sized, unsized):
            await uow.variants.add(v)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.images.totals() == (2, 1570)


async def test_variants_round_trip_and_one_per_spec(database: Database) -> None:
    seeded = await seed_job(database)
    i, v = seeded.image, seeded.variant
    later = variant(i, "hash2", minutes=1)
    earlier = variant(i, "hash3", minutes=-1)
    async with database.unit_of_work() as uow:
        await uow.variants.add(later)
        await uow.variants.add(earlier)
        with pytest.raises(Conflict):  # the same (image, spec) twice
            await uow.variants.add(variant(i, "hash1"))
        await uow.commit()  # a Conflict spoils nothing else of the unit of work
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.variants.get(v.id) == v
        assert await uow.variants.get(new_id()) is None
        assert await uow.variants.find(i.id, "hash2") == later
        assert await uow.variants.find(i.id, "nope") is None
        assert await uow.variants.find(new_id(), "hash1") is None
        listed = await uow.variants.list_for_images([i.id, "no-such-image"])
    assert [x.id for x in listed[i.id]] == [earlier.id, v.id, later.id]  # oldest first
    assert listed["no-such-image"] == []


async def test_variant_update_writes_its_outcome(database: Database) -> None:
    seeded = await seed_job(database)
    done = replace(
        seeded.variant, status=VariantStatus.READY, width=5, height=6, size=77, flattened=True
    )
    async with database.unit_of_work() as uow:
        await uow.variants.update(done)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.variants.get(done.id) == done


async def test_variants_found_together_and_saved_in_one_statement(database: Database) -> None:
    seeded = await seed_job(database)
    i, pending = seeded.image, seeded.variant
    ready = VariantStatus.READY
    turned = parse_spec({"rotate": 180})
    other = Variant(new_id(), i.id, "hash2", turned, "key2", OutputFormat.PNG, ready, NOW)
    async with database.unit_of_work() as uow:
        await uow.variants.save(other)  # new: added as it is
        # The same spec again (say, an on-the-fly render of what a job queued): its outcome
        # lands on the existing row, whose id, key and spec stay.
        flipped = parse_spec({"flip": True})
        done = Variant(new_id(), i.id, "hash1", flipped, "other", OutputFormat.JPEG, ready, NOW)
        done.width, done.height, done.size, done.flattened = 3, 4, 50, True
        await uow.variants.save(done)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        found = await uow.variants.find_many(i.id, ["hash1", "hash2", "missing"])
        none = await uow.variants.find_many(new_id(), ["hash1"])
        empty = await uow.variants.find_many(i.id, [])
    assert set(found) == {"hash1", "hash2"} and none == {} and empty == {}
    assert found["hash2"] == other
    saved = found["hash1"]
    assert (saved.id, saved.storage_key, saved.spec) == (
        pending.id,
        pending.storage_key,
        parse_spec({"rotate": 90}),
    )
    assert saved.status is VariantStatus.READY and saved.flattened
    assert (saved.width, saved.height, saved.size) == (3, 4, 50)


async def test_jobs_of_an_image_follow_it(database: Database) -> None:
    seeded = await seed_job(database)
    second = job(seeded.variant, seeded.user, minutes=1)
    async with database.unit_of_work() as uow:
        await uow.jobs.add(second)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        listed = await uow.jobs.list_for_images([seeded.image.id, "none"])
        assert await uow.jobs.get(second.id) == second
        assert await uow.jobs.get(new_id()) is None
    assert [j.id for j in listed[seeded.image.id]] == [seeded.job.id, second.id]
    assert listed["none"] == []
