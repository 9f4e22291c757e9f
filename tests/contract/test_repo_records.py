"""LogRepository and NotificationRepository, over SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from pixelpress.domain.ids import new_id
from pixelpress.domain.models import (
    LogFilter,
    LogLevel,
    NotificationStatus,
    NotificationType,
    Page,
)
from pixelpress.ports import Database
from tests.contract.entities import NOW, log_entry, notification, user


async def test_log_entries_round_trip_with_their_context(database: Database) -> None:
    alice = user()
    mine = log_entry(alice, level=LogLevel.WARNING, image_id=new_id())
    system = replace(log_entry(None, minutes=1), source="system", context=None)
    async with database.unit_of_work() as uow:
        await uow.users.add(alice)
        await uow.logs.add(mine)
        await uow.logs.add(system)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        got = await uow.logs.get(mine.id)
        assert await uow.logs.get(system.id) == system
        assert await uow.logs.get(new_id()) is None
    assert got == mine
    assert got is not None and got.timestamp.tzinfo is not None
    assert got.context == {"n": 0, "nested": {"ok": True}}


async def test_log_entries_are_filtered_and_listed_newest_first(database: Database) -> None:
    alice, bob = user("alice"), user("bob")
    image_id = new_id()
    levels = [LogLevel.INFO, LogLevel.ERROR, LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR]
    hers = [
        log_entry(alice, minutes=m, level=level, image_id=image_id if m % 2 else None)
        for m, level in enumerate(levels)
    ]
    his = log_entry(bob, minutes=10, level=LogLevel.ERROR)
    anonymous = log_entry(None, minutes=11)
    async with database.unit_of_work() as uow:
        await uow.users.add(alice)
        await uow.users.add(bob)
        for entry in [*hers, his, anonymous]:
            await uow.logs.add(entry)
        await uow.commit()

    async def listed(where: LogFilter, page: Page = Page(1, 100)) -> tuple[list[str], int]:
        async with database.unit_of_work(readonly=True) as uow:
            found = await uow.logs.list_page(where, page)
        return [entry.id for entry in found.items], found.total

    def ids(*minutes: int) -> list[str]:
        return [hers[m].id for m in minutes]

    everything, total = await listed(LogFilter())
    assert everything == [anonymous.id, his.id, *ids(4, 3, 2, 1, 0)] and total == 7
    assert await listed(LogFilter(user_id=alice.id)) == (ids(4, 3, 2, 1, 0), 5)
    assert await listed(LogFilter(user_id=alice.id, level=LogLevel.ERROR)) == (ids(4, 1), 2)
    assert await listed(LogFilter(level=LogLevel.ERROR)) == ([his.id, *ids(4, 1)], 3)
    since, until = NOW + timedelta(minutes=1), NOW + timedelta(minutes=3)
    assert await listed(LogFilter(user_id=alice.id, since=since)) == (ids(4, 3, 2, 1), 4)
    assert await listed(LogFilter(user_id=alice.id, until=until)) == (ids(3, 2, 1, 0), 4)
    assert await listed(LogFilter(since=since, until=until)) == (ids(3, 2, 1), 3)  # inclusive
    assert await listed(LogFilter(image_id=image_id)) == (ids(3, 1), 2)
    assert await listed(LogFilter(user_id=new_id())) == ([], 0)
    second, total = await listed(LogFilter(user_id=alice.id), Page(2, 2))
    assert second == ids(2, 1) and total == 5


async def test_notifications_round_trip_and_update(database: Database) -> None:
    alice = user()
    sent = replace(
        notification(alice),
        type=NotificationType.WEBHOOK,
        event="job.processed",
        image_id=new_id(),
        job_id=new_id(),
    )
    async with database.unit_of_work() as uow:
        await uow.users.add(alice)
        await uow.notifications.add(sent)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.notifications.get(sent.id) == sent
        assert await uow.notifications.get(new_id()) is None
    done = replace(
        sent,
        status=NotificationStatus.SENT,
        attempts=2,
        last_error=None,
        sent_at=NOW + timedelta(seconds=30),
    )
    failed = replace(done, status=NotificationStatus.FAILED, last_error="HTTP 500", sent_at=None)
    for outcome in (done, failed):
        async with database.unit_of_work() as uow:
            await uow.notifications.update(outcome)
            await uow.commit()
        async with database.unit_of_work(readonly=True) as uow:
            assert await uow.notifications.get(sent.id) == outcome


async def test_notifications_are_listed_per_user_newest_first(database: Database) -> None:
    alice, bob = user("alice"), user("bob")
    hers = [notification(alice, minutes=m) for m in range(5)]
    his = notification(bob, minutes=10)
    async with database.unit_of_work() as uow:
        await uow.users.add(alice)
        await uow.users.add(bob)
        assert await uow.notifications.latest(alice.id) is None
        for note in [*hers, his]:
            await uow.notifications.add(note)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        latest = await uow.notifications.latest(alice.id)
        first = await uow.notifications.list_page(alice.id, Page(1, 2))
        last = await uow.notifications.list_page(alice.id, Page(3, 2))
        none = await uow.notifications.list_page(new_id(), Page(1, 2))
    assert latest == hers[4]
    assert [n.id for n in first.items] == [hers[4].id, hers[3].id]
    assert [n.id for n in last.items] == [hers[0].id]
    assert first.total == 5 and first.pages == 3
    assert none.items == [] and none.total == 0


async def test_lost_notifications_are_those_whose_next_step_is_overdue(
    database: Database,
) -> None:
    """Never handed on (created long ago, never tried), a retry whose hand-off was lost (due
    long ago), or an attempt whose sender died (under way long ago): all pending and overdue."""
    alice = user()
    untried = notification(alice, minutes=0)
    retry = replace(notification(alice), attempts=1, next_attempt_at=NOW + timedelta(minutes=10))
    overdue = replace(notification(alice), attempts=1, next_attempt_at=NOW - timedelta(minutes=1))
    done = replace(notification(alice, minutes=2), status=NotificationStatus.SENT)
    fresh = notification(alice, minutes=10)
    async with database.unit_of_work() as uow:
        await uow.users.add(alice)
        for note in (untried, retry, overdue, done, fresh):
            await uow.notifications.add(note)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        nothing_yet = await uow.notifications.lost(before=NOW - timedelta(minutes=5))
        now = await uow.notifications.lost(before=NOW)
        soon = await uow.notifications.lost(before=NOW + timedelta(minutes=5))
        later = await uow.notifications.lost(before=NOW + timedelta(hours=1))
    assert nothing_yet == []
    assert now == [overdue.id]  # created exactly then is not before
    assert sorted(soon) == sorted([untried.id, overdue.id])
    assert sorted(later) == sorted([untried.id, overdue.id, retry.id, fresh.id])
