"""UserRepository and SessionRepository, over SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from pixelpress.domain.errors import Conflict
from pixelpress.domain.ids import new_id
from pixelpress.domain.models import AuthSession, Page, Role, User
from pixelpress.ports import Database
from tests.contract.entities import (
    NOW,
    image,
    log_entry,
    notification,
    seed_job,
    user,
)


async def add_users(db: Database, *users: User) -> None:
    async with db.unit_of_work() as uow:
        for u in users:
            await uow.users.add(u)
        await uow.commit()


async def test_users_round_trip_with_aware_times(database: Database) -> None:
    u = user()
    await add_users(database, u)
    async with database.unit_of_work() as uow:
        got = await uow.users.get(u.id)
        by_mail = await uow.users.find_by_login("ALICE@example.com")
        by_name = await uow.users.find_by_login("Alice")
        nobody = await uow.users.find_by_login("bob")
        missing = await uow.users.get(new_id())
        taken = await uow.users.exists(username="ALICE", email="new@example.com")
        mail_taken = await uow.users.exists(username="carol", email="alice@example.com")
        free = await uow.users.exists(username="carol", email="carol@example.com")
    assert got == u and by_mail == u and by_name == u
    assert got is not None and got.created_at.tzinfo is not None
    assert nobody is None and missing is None
    assert taken == (True, False) and mail_taken == (False, True) and free == (False, False)


async def test_unique_keys_raise_conflict(database: Database) -> None:
    await add_users(database, user("alice"))
    async with database.unit_of_work() as uow:
        with pytest.raises(Conflict):
            await uow.users.add(user("ALICE"))  # the username, in any case
    taken_mail = replace(user("bob"), email="alice@example.com")
    async with database.unit_of_work() as uow:
        with pytest.raises(Conflict):
            await uow.users.add(taken_mail)


async def test_update_writes_every_field(database: Database) -> None:
    u = user()
    await add_users(database, u)
    changed = replace(
        u,
        username="alice2",
        email="alice2@example.com",
        password_hash="other",
        role=Role.ADMIN,
        last_login=NOW + timedelta(hours=1),
        disabled=True,
        notify_email=True,
        webhook_url="https://example.com/hook",
        webhook_secret="whsec_x",
    )
    async with database.unit_of_work() as uow:
        await uow.users.update(changed)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.users.get(u.id) == changed
        assert await uow.users.find_by_login("alice") is None


async def test_users_are_listed_oldest_first_and_counted(database: Database) -> None:
    made = [user(f"user{n}", minutes=n) for n in range(5)]
    await add_users(database, *reversed(made))
    async with database.unit_of_work(readonly=True) as uow:
        first = await uow.users.list_page(Page(1, 2))
        last = await uow.users.list_page(Page(3, 2))
        beyond = await uow.users.list_page(Page(4, 2))
        count = await uow.users.count()
    assert [u.id for u in first.items] == [made[0].id, made[1].id]
    assert [u.id for u in last.items] == [made[4].id]
    assert beyond.items == [] and beyond.total == 5
    assert first.total == 5 and first.pages == 3 and count == 5


async def test_deleting_a_user_takes_every_row_of_theirs_and_nothing_else(
    database: Database,
) -> None:
    gone = await seed_job(database, "alice")
    kept = await seed_job(database, "bob")
    rows = {
        who.user.id: (
            AuthSession(new_id(), who.user.id, NOW, NOW + timedelta(days=1), new_id()),
            log_entry(who.user, image_id=who.image.id),
            notification(who.user),
        )
        for who in (gone, kept)
    }
    async with database.unit_of_work() as uow:
        for session, entry, note in rows.values():
            await uow.sessions.add(session)
            await uow.logs.add(entry)
            await uow.notifications.add(note)
        await uow.commit()
    async with database.unit_of_work() as uow:
        await uow.users.delete(gone.user.id)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        for who, present in ((gone, False), (kept, True)):
            session, entry, note = rows[who.user.id]
            found = [
                await uow.users.get(who.user.id),
                await uow.images.get(who.image.id),
                await uow.variants.get(who.variant.id),
                await uow.jobs.get(who.job.id),
                await uow.sessions.get(session.id),
                await uow.logs.get(entry.id),
                await uow.notifications.get(note.id),
            ]
            assert all((row is not None) is present for row in found), (who.user.username, found)
        assert await uow.users.count() == 1


async def test_sessions_round_trip_rotate_once_and_revoke(database: Database) -> None:
    u = user()
    s = AuthSession(new_id(), u.id, NOW, NOW + timedelta(days=1), "jti-1", persistent=True)
    async with database.unit_of_work() as uow:
        await uow.users.add(u)
        await uow.sessions.add(s)
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.sessions.get(s.id) == s
        assert await uow.sessions.get(new_id()) is None
        assert await uow.sessions.rotate(s.id, expected_jti="jti-1", new_jti="jti-2")
        assert not await uow.sessions.rotate(s.id, expected_jti="jti-1", new_jti="jti-3")
        rotated = await uow.sessions.get(s.id)
        assert rotated is not None and rotated.current_refresh_jti == "jti-2"
        assert await uow.sessions.active_user(s.id, now=NOW) == u
        assert await uow.sessions.active_user(s.id, now=NOW + timedelta(days=2)) is None
        assert await uow.sessions.active_user(new_id(), now=NOW) is None
        await uow.sessions.revoke(s.id, NOW)
        await uow.sessions.revoke(s.id, NOW + timedelta(hours=1))  # the first time stays
        assert await uow.sessions.active_user(s.id, now=NOW) is None
        # a revoked family rotates no more, even with its current token
        assert not await uow.sessions.rotate(s.id, expected_jti="jti-2", new_jti="jti-4")
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        ended = await uow.sessions.get(s.id)
    assert ended is not None and ended.revoked_at == NOW and ended.persistent


async def test_sessions_of_other_users_are_their_own(database: Database) -> None:
    alice, bob = user("alice"), user("bob")
    theirs = {
        u.id: AuthSession(new_id(), u.id, NOW, NOW + timedelta(days=1), new_id())
        for u in (alice, bob)
    }
    async with database.unit_of_work() as uow:
        for u in (alice, bob):
            await uow.users.add(u)
            await uow.sessions.add(theirs[u.id])
        await uow.images.add(image(alice))
        await uow.commit()
    async with database.unit_of_work() as uow:
        await uow.sessions.revoke(theirs[alice.id].id, NOW)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.sessions.active_user(theirs[alice.id].id, now=NOW) is None
        assert await uow.sessions.active_user(theirs[bob.id].id, now=NOW) == bob
