"""UnitOfWork and Database.ping over SQLite and PostgreSQL: what is kept, what is rolled back,
who waits for whom."""

from __future__ import annotations

import asyncio

import pytest

from pixelpress.bootstrap.table import build_database
from pixelpress.domain.errors import Unavailable
from pixelpress.ports import Database
from tests.contract.entities import seed_job, user
from tests.services import free_port


async def test_committed_work_is_kept(database: Database) -> None:
    u = user()
    async with database.unit_of_work() as uow:
        await uow.users.add(u)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.users.get(u.id) == u


async def test_uncommitted_work_is_rolled_back(database: Database) -> None:
    u = user()
    async with database.unit_of_work() as uow:
        await uow.users.add(u)
    async with database.unit_of_work() as uow:
        assert await uow.users.get(u.id) is None


async def test_an_error_rolls_back_and_is_raised(database: Database) -> None:
    u = user()

    async def gives_up_half_way() -> None:
        async with database.unit_of_work() as uow:
            await uow.users.add(u)
            raise LookupError("a use case gave up half-way")

    with pytest.raises(LookupError):
        await gives_up_half_way()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.users.get(u.id) is None


async def test_work_after_a_commit_is_not_kept_without_another(database: Database) -> None:
    first, second = user("alice"), user("bob")
    async with database.unit_of_work() as uow:
        await uow.users.add(first)
        await uow.commit()
    async with database.unit_of_work() as uow:
        await uow.users.add(second)
        await uow.users.delete(first.id)
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.users.get(first.id) == first
        assert await uow.users.get(second.id) is None


async def test_a_reader_sees_only_what_is_committed(database: Database) -> None:
    u = user()
    async with database.unit_of_work() as writer:
        await writer.users.add(u)
        async with database.unit_of_work(readonly=True) as reader:
            assert await reader.users.get(u.id) is None
        await writer.commit()
    async with database.unit_of_work(readonly=True) as reader:
        assert await reader.users.get(u.id) == u


async def test_ping(database: Database) -> None:
    await database.ping()


async def count_users(db: Database) -> int:
    async with db.unit_of_work(readonly=True) as uow:
        return await uow.users.count()


async def test_an_unreachable_database_is_unavailable() -> None:
    """Nothing listens on the port: ping and every unit of work say Unavailable (a 503 with
    its dependency), never a driver's error."""
    db = build_database(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    try:
        with pytest.raises(Unavailable) as pinged:
            await db.ping()
        assert pinged.value.details == {"dependency": "database"}
        with pytest.raises(Unavailable):
            async with db.unit_of_work(readonly=True) as uow:
                await uow.users.count()
    finally:
        await db.close()


async def test_a_locked_image_waits_for_its_unit_of_work(database: Database) -> None:
    # What an on-the-fly render relies on: while it records a variant of an image it read with
    # `lock`, a delete of that image waits for it (and then purges what it wrote).
    i = (await seed_job(database)).image
    order: list[str] = []
    locked = asyncio.Event()

    async def render() -> None:
        async with database.unit_of_work() as uow:
            assert await uow.images.get(i.id, lock=True) is not None
            locked.set()
            await asyncio.sleep(0.3)
            order.append("render committed")
            await uow.commit()

    async def delete() -> None:
        await locked.wait()
        async with database.unit_of_work() as uow:
            await uow.images.delete(i.id)
            await uow.commit()
            order.append("delete committed")

    await asyncio.gather(render(), delete())
    assert order == ["render committed", "delete committed"]
