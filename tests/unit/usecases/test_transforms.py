"""One variant per (image, canonical spec): the same transformation asked in any of its forms,
as a job or on the fly, is one row, one job and one rendering."""

from __future__ import annotations

from pixelpress.domain.models import JobStatus, User, VariantStatus
from pixelpress.domain.spec import TransformSpec, parse_query, parse_spec
from pixelpress.usecases.delivery import deliver
from pixelpress.usecases.jobs import run_job
from pixelpress.usecases.transforms import Queued, request_transform
from tests.unit.usecases.conftest import World

# One transformation, three ways of writing it.
LONG = parse_spec({"resize": {"width": 300}, "rotate": 450, "format": "webp", "quality": 80})
SHORT = parse_spec({"resize": "300x", "rotate": -270, "format": "webp", "quality": 80})
QUERY = parse_query({"width": "300", "rotate": "90", "format": "webp", "quality": "80"})


async def request(world: World, owner: User, image_id: str, spec: TransformSpec) -> Queued:
    return await request_transform(
        image_id,
        spec,
        user=owner,
        db=world.db,
        queue=world.jobs,
        clock=world.clock,
        limits=world.limits,
    )


async def test_one_spec_in_two_forms_is_one_variant_and_one_job(world: World) -> None:
    assert LONG.hash == SHORT.hash == QUERY.hash
    alice = await world.user()
    image = await world.image(alice)
    first = await request(world, alice, image.id, LONG)
    second = await request(world, alice, image.id, SHORT)
    assert first.job is not None and second.job is not None
    assert (second.variant.id, second.job.id) == (first.variant.id, first.job.id)
    async with world.db.unit_of_work(readonly=True) as uow:
        variants = (await uow.variants.list_for_images([image.id]))[image.id]
        jobs = (await uow.jobs.list_for_images([image.id]))[image.id]
    assert [v.id for v in variants] == [first.variant.id]
    assert [j.id for j in jobs] == [first.job.id]

    # Published at least once (twice here): the claim runs it once.
    published = world.jobs.take_due()
    assert set(published) == {first.job.id}
    outcomes = [await run_job(job_id, runner=world.runner()) for job_id in published]
    assert outcomes[0] is JobStatus.PROCESSED and set(outcomes[1:]) <= {None}
    assert world.processor.rendered == [LONG]

    # Rendered now: asking again, in a third form, queues nothing.
    third = await request(world, alice, image.id, QUERY)
    assert third.job is None and third.variant.id == first.variant.id
    assert third.variant.status is VariantStatus.READY
    assert world.jobs.waiting == []


async def test_other_specs_and_other_images_are_other_variants(world: World) -> None:
    alice = await world.user()
    image, other = await world.image(alice), await world.image(alice)
    asked = [
        await request(world, alice, image.id, LONG),
        await request(world, alice, image.id, parse_spec({"rotate": 180})),
        await request(world, alice, other.id, SHORT),
    ]
    assert len({q.variant.id for q in asked}) == 3
    assert len({q.job.id for q in asked if q.job is not None}) == 3


async def test_an_on_the_fly_render_serves_what_a_job_made(world: World) -> None:
    alice = await world.user()
    image = await world.image(alice)
    queued = await request(world, alice, image.id, LONG)
    await world.work()
    served = await deliver(image.id, QUERY, d=world.deliverer(), viewer=alice)
    assert served.key == queued.variant.storage_key
    assert world.processor.rendered == [LONG]  # not rendered a second time
    async with world.db.unit_of_work(readonly=True) as uow:
        variants = (await uow.variants.list_for_images([image.id]))[image.id]
    assert [v.id for v in variants] == [queued.variant.id]


async def test_a_job_finds_what_an_on_the_fly_render_made(world: World) -> None:
    alice = await world.user()
    image = await world.image(alice)
    served = await deliver(image.id, SHORT, d=world.deliverer(), viewer=alice)
    queued = await request(world, alice, image.id, LONG)
    assert queued.job is None  # already rendered: nothing to queue
    assert queued.variant.storage_key == served.key
    assert queued.variant.status is VariantStatus.READY
    assert world.processor.rendered == [SHORT] and world.jobs.waiting == []
