"""The rendition pyramid: which levels an image gets, which one serves an output, and that
one job makes them all (the smaller ones from the largest), to be found by deliveries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pixelpress.domain.errors import NotFound
from pixelpress.domain.keys import card_key
from pixelpress.domain.models import Image, ImageFormat, Page, Variant, VariantStatus
from pixelpress.domain.spec import parse_spec
from pixelpress.usecases.delivery import deliver
from pixelpress.usecases.images import find_download
from pixelpress.usecases.records import Card
from pixelpress.usecases.renditions import level_spec, levels_of, pick_level
from pixelpress.usecases.transforms import request_transform
from tests.fakes import read_fake
from tests.unit.usecases.conftest import World

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def image_of(width: int, height: int, **fields: object) -> Image:
    return Image(
        "img", "owner", "a.jpg", ImageFormat.JPEG, width, height, 1, "hash", "key", NOW,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def ready_levels(image: Image) -> list[Variant]:
    """The image's levels as the rendition job leaves them: ready, at their sizes."""
    made = []
    for level in levels_of(image):
        scale = level.edge / max(image.width, image.height)
        spec = level_spec(image, level)
        variant = Variant(
            f"v{level.edge}", image.id, spec.hash, spec, f"k{level.edge}",
            spec.output_format("jpeg"), VariantStatus.PENDING, NOW,
        )  # fmt: skip
        variant.mark_ready(
            width=round(image.width * scale),
            height=round(image.height * scale),
            size=1,
            flattened=False,
        )
        made.append(variant)
    return made


@pytest.mark.parametrize(
    ("width", "height", "edges"),
    [
        (4000, 3000, [2048, 1024, 512]),
        (2400, 3200, [2048, 1024, 512]),
        (2048, 1536, [1024, 512]),  # no 2048 px master of a 2048 px image: the 1024 is the top
        (1500, 1000, [512]),  # under twice 1024: that level would save too little
        (1023, 700, []),
        (640, 480, []),
    ],
)
def test_levels_smaller_than_the_image_by_enough(width: int, height: int, edges: list[int]) -> None:
    assert [level.edge for level in levels_of(image_of(width, height))] == edges


def test_animations_get_no_levels() -> None:
    assert levels_of(image_of(4000, 3000, frames=3)) == ()


@pytest.mark.parametrize(
    ("spec", "edge"),
    [
        ({"resize": {"width": 400}}, 512),
        ({"resize": {"width": 426}}, 512),  # 512 px is 1.2 times 426
        ({"resize": {"width": 427}}, 1024),
        ({"resize": {"width": 601}}, 1024),  # 768 px is 1.7 times 451 (its height)
        ({"resize": {"width": 603}}, 2048),  # 452 px high
        ({"resize": {"width": 300, "height": 300, "fit": "cover"}}, 512),  # scaled to 400x300
        ({"resize": {"width": 2048}}, 2048),
        ({"resize": {"width": 2049}}, None),  # bigger than every level: the original
        ({"resize": {"width": 100}, "crop": {"x": 0, "y": 0, "width": 50, "height": 50}}, None),
        ({"rotate": 90}, None),  # full size
    ],
)
def test_the_smallest_level_with_room_serves(spec: dict[str, object], edge: int | None) -> None:
    image = image_of(4000, 3000)
    chosen = pick_level(image, parse_spec(spec), ready_levels(image))
    assert (chosen and chosen.id) == (edge and f"v{edge}")


def test_levels_not_ready_or_missing_are_passed_over() -> None:
    image = image_of(4000, 3000)
    top, middle, small = ready_levels(image)
    small.status = VariantStatus.PENDING
    thumb = parse_spec({"resize": {"width": 400}})
    assert pick_level(image, thumb, [top, middle, small]) is middle
    assert pick_level(image, thumb, [top]) is top  # an image made before the pyramid
    assert pick_level(image, thumb, []) is None


def test_a_level_is_never_made_from_a_level() -> None:
    image = image_of(4000, 3000)
    for level in levels_of(image):
        assert pick_level(image, level_spec(image, level), ready_levels(image)) is None


async def test_one_job_makes_every_level_and_deliveries_use_the_smallest(world: World) -> None:
    alice = await world.user(notify_email=True)
    image = await world.image(alice, 4000, 3000)
    await world.work()
    specs = [level_spec(image, level) for level in levels_of(image)]
    assert world.processor.rendered == specs  # the 2048 px one first, the others from it
    assert world.processor.masters == [True] * len(specs)  # Pixelpress's own: see `master`
    async with world.db.unit_of_work(readonly=True) as uow:
        rows = (await uow.variants.list_for_images([image.id]))[image.id]
        jobs = (await uow.jobs.list_for_images([image.id]))[image.id]
    assert sorted((v.width, v.height, v.status) for v in rows) == [
        (512, 384, VariantStatus.READY),
        (1024, 768, VariantStatus.READY),
        (2048, 1536, VariantStatus.READY),
    ]
    assert len(jobs) == 1  # one job, for the largest
    async with world.db.unit_of_work(readonly=True) as uow:
        told = await uow.notifications.list_page(alice.id, Page(1, 10))
    assert told.items == []  # Pixelpress's own work: the owner asked for nothing
    for row in rows:
        made = read_fake(await world.storage.get(row.storage_key))
        assert (made.width, made.height) == (row.width, row.height)
    # a delivery renders a thumbnail from the 512 px level: even without the original
    await world.storage.delete(image.storage_key)
    served = await deliver(image.id, parse_spec({"resize": {"width": 400}}), d=world.deliverer())
    assert read_fake(served.data or b"").width == 400
    card = await world.cache.get(card_key(image.id))
    assert card is not None
    assert sorted(v.width or 0 for v in Card.load(card).levels) == [512, 1024, 2048]


async def test_a_level_lost_from_storage_falls_back_to_the_original(world: World) -> None:
    alice = await world.user()
    image = await world.image(alice, 4000, 3000)
    await world.work()
    async with world.db.unit_of_work(readonly=True) as uow:
        rows = (await uow.variants.list_for_images([image.id]))[image.id]
    [small] = [row for row in rows if row.width == 512]
    await world.storage.delete(small.storage_key)
    thumb = parse_spec({"resize": {"width": 400}})
    served = await deliver(image.id, thumb, d=world.deliverer())
    assert read_fake(served.data or b"").width == 400


async def test_a_download_of_the_latest_variant_is_the_owners_not_a_level(world: World) -> None:
    alice = await world.user()
    image = await world.image(alice, 4000, 3000)
    await world.work()
    with pytest.raises(NotFound):  # only renditions so far: nothing the owner asked for
        await find_download(image.id, None, user=alice, db=world.db)
    world.clock.advance(1)
    await request_transform(
        image.id, parse_spec({"rotate": 90, "format": "png"}), user=alice, db=world.db,
        queue=world.jobs, clock=world.clock, limits=world.limits,
    )  # fmt: skip
    world.clock.advance(1)  # the rendition job runs after the owner asked for that
    await world.work()
    download = await find_download(image.id, None, user=alice, db=world.db)
    assert download.media_type == "image/png"
