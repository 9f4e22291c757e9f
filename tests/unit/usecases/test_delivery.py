"""On-the-fly delivery: a new variant of an image seen lately is made from the image's cached
card, without reading the database first (it only records what it made)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pixelpress.adapters.storage_obstore import ObstoreStorage
from pixelpress.domain.spec import parse_spec
from pixelpress.ports import Database, UnitOfWork
from pixelpress.usecases.delivery import deliver
from tests.fakes import read_fake
from tests.unit.usecases.conftest import World


@dataclass
class ReadCountingDatabase:
    """The Database port over another, counting the read-only units of work opened on it: the
    database reads a use case makes, seen at the port (not in SQL text)."""

    inner: Database
    reads: int = 0

    def unit_of_work(self, *, readonly: bool = False) -> UnitOfWork:
        self.reads += readonly
        return self.inner.unit_of_work(readonly=readonly)

    async def ping(self) -> None:
        await self.inner.ping()


async def test_new_variants_of_an_image_seen_lately_skip_the_read(
    world: World, tmp_path: Path
) -> None:
    # Where the store keeps files (the embedded default), a missing file says "not rendered
    # yet" without asking the database either.
    world.storage = ObstoreStorage.local(tmp_path / "blobs")
    alice = await world.user()
    image = await world.image(alice)
    counted = ReadCountingDatabase(world.db)
    d = world.deliverer(db=counted)

    await deliver(image.id, parse_spec({"resize": {"width": 300}}), d=d, viewer=alice)
    assert counted.reads >= 1  # the first looks the image up
    counted.reads = 0
    second = await deliver(image.id, parse_spec({"resize": {"width": 301}}), d=d, viewer=alice)
    assert counted.reads == 0  # the next knows the image from its card
    rendered = read_fake(second.data or await world.storage.get(second.key))
    assert rendered.width == 301
    async with world.db.unit_of_work(readonly=True) as uow:  # and recorded what it made
        variants = (await uow.variants.list_for_images([image.id]))[image.id]
    assert sorted(v.width or 0 for v in variants) == [300, 301]
