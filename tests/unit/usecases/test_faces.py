"""Faces for face-aware crops: found once per image content, shared by on-the-fly renders, jobs
and dry runs, and forgotten when the image is replaced or deleted."""

from __future__ import annotations

import asyncio

from pixelpress.domain.faces import Box, Faces
from pixelpress.domain.keys import faces_key
from pixelpress.domain.spec import Gravity, TransformSpec, parse_spec
from pixelpress.usecases.delivery import deliver
from pixelpress.usecases.faces import FaceFinder
from pixelpress.usecases.images import delete_image
from pixelpress.usecases.jobs import run_job
from pixelpress.usecases.transforms import dry_run, request_transform
from tests.fakes import FakeFaceDetector, fake_image
from tests.unit.usecases.conftest import World

BIG = Box(600, 100, 100, 100)
SMALL = Box(100, 50, 50, 50)


def cover(width: int, height: int, gravity: str) -> TransformSpec:
    return parse_spec({"resize": {"width": width, "height": height, "gravity": gravity}})


async def test_renders_and_jobs_share_the_faces_found_once(world: World) -> None:
    detector = FakeFaceDetector(SMALL, BIG)
    finder = FaceFinder(detector, world.cache, world.storage)
    alice = await world.user()
    image = await world.image(alice)  # 800 x 600
    d = world.deliverer(faces=finder)
    faces = Faces(800, 600, (BIG, SMALL))

    await deliver(image.id, cover(200, 200, "face"), d=d)
    assert world.processor.focused[-1] == faces.focus(Gravity.FACE)
    await deliver(image.id, cover(300, 100, "faces"), d=d)
    assert world.processor.focused[-1] == faces.focus(Gravity.FACES)
    # A job (in a worker, say) reads the same cached faces.
    queued = await request_transform(
        image.id,
        cover(150, 150, "face"),
        user=alice,
        db=world.db,
        queue=world.jobs,
        clock=world.clock,
        limits=world.limits,
    )
    assert queued.job is not None
    await run_job(queued.job.id, runner=world.runner(faces=finder))
    assert world.processor.focused[-1] == faces.focus(Gravity.FACE)
    # Other gravities neither look for faces nor get any.
    await deliver(image.id, cover(120, 120, "auto"), d=d)
    assert world.processor.focused[-1] is None
    assert detector.calls == 1


async def test_no_face_found_is_remembered_and_crops_as_auto(world: World) -> None:
    detector = FakeFaceDetector()
    d = world.deliverer(faces=FaceFinder(detector, world.cache, world.storage))
    alice = await world.user()
    image = await world.image(alice)

    await deliver(image.id, cover(200, 200, "face"), d=d)
    await deliver(image.id, cover(100, 300, "faces"), d=d)
    assert world.processor.focused == [None, None]  # the engine cuts these as auto
    assert detector.calls == 1


async def test_replacing_or_deleting_the_image_forgets_its_faces(world: World) -> None:
    detector = FakeFaceDetector(BIG)
    d = world.deliverer(faces=FaceFinder(detector, world.cache, world.storage))
    alice = await world.user()
    image = await world.image(alice)
    spec = cover(200, 200, "face")

    await deliver(image.id, spec, d=d)
    assert await world.cache.get(faces_key(image.id, image.content_hash)) is not None
    view = await world.replace(image, alice, 1000, 500)
    assert await world.cache.get(faces_key(image.id, image.content_hash)) is None
    await deliver(image.id, spec, d=d)
    assert detector.calls == 2  # the new bytes are searched anew
    assert world.processor.focused[-1] == Faces(1000, 500, (BIG,)).focus(Gravity.FACE)

    new_key = faces_key(image.id, view.image.content_hash)
    assert await world.cache.get(new_key) is not None
    await delete_image(image.id, user=alice, db=world.db, storage=world.storage, cache=world.cache)
    assert await world.cache.get(new_key) is None


async def test_dry_run_reports_the_faces_of_face_gravity_only(world: World) -> None:
    detector = FakeFaceDetector(SMALL, BIG)
    finder = FaceFinder(detector, world.cache, world.storage)
    alice = await world.user()
    image = await world.image(alice)

    plain = await dry_run(
        image.id, parse_spec({"resize": "200x200"}), user=alice, db=world.db,
        limits=world.limits, faces=finder,
    )  # fmt: skip
    assert plain.faces is None
    assert detector.calls == 0
    found = await dry_run(
        image.id, cover(200, 200, "faces"), user=alice,
        db=world.db, limits=world.limits, faces=finder,
    )  # fmt: skip
    assert found.faces == (BIG, SMALL)
    assert (found.width, found.height) == (200, 200)
    # The render that follows uses what the dry run found.
    await deliver(
        image.id,
        cover(200, 200, "faces"),
        d=world.deliverer(faces=finder),
    )
    assert detector.calls == 1


async def test_faces_found_on_a_smaller_copy_are_kept_in_the_originals_pixels(
    world: World,
) -> None:
    detector = FakeFaceDetector(Box(200, 100, 40, 20))
    finder = FaceFinder(detector, world.cache, world.storage)
    alice = await world.user()
    image = await world.image(alice, 800, 600)

    rendition = fake_image(400, 300)
    assert await finder.faces(image, rendition) == Faces(800, 600, (Box(400, 200, 80, 40),))
    assert await finder.faces(image) == Faces(800, 600, (Box(400, 200, 80, 40),))
    assert detector.calls == 1


async def test_concurrent_renders_search_once(world: World) -> None:
    detector = FakeFaceDetector(BIG)
    detector.gate = asyncio.Event()
    finder = FaceFinder(detector, world.cache, world.storage)
    alice = await world.user()
    image = await world.image(alice)

    searches = [asyncio.create_task(finder.faces(image)) for _ in range(3)]
    while detector.calls == 0:  # the first is searching; the others come to wait for it
        await asyncio.sleep(0)
    for _ in range(20):
        await asyncio.sleep(0)
    detector.gate.set()
    assert await asyncio.gather(*searches) == [Faces(800, 600, (BIG,))] * 3
    assert detector.calls == 1
