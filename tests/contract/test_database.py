from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pixelpress.domain.errors import Conflict
from pixelpress.domain.ids import new_id
from pixelpress.domain.models import (
    AuthSession,
    Claim,
    ClaimOutcome,
    Image,
    ImageFilter,
    ImageFormat,
    ImageOrder,
    Job,
    JobStatus,
    Page,
    Role,
    User,
    Variant,
    VariantStatus,
)
from pixelpress.domain.spec import OutputFormat, parse_spec
from pixelpress.ports import Database

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LEASE_LENGTH = timedelta(seconds=20)
LEASE = NOW + LEASE_LENGTH


def user(name: str = "alice") -> User:
    return User(new_id(), name, f"{name}@example.com", "hash", Role.USER, NOW)


def image(owner: User, minutes: int = 0, filename: str = "a.jpg") -> Image:
    return Image(
        new_id(),
        owner.id,
        filename,
        ImageFormat.JPEG,
        10,
        10,
        100,
        "h" * 64,
        "k",
        NOW + timedelta(minutes=minutes),
    )


async def seed_job(db: Database) -> tuple[User, Image, Variant, Job]:
    u = user()
    i = image(u)
    spec = parse_spec({"rotate": 90})
    v = Variant(
        new_id(), i.id, spec.hash, spec, "key", OutputFormat.JPEG, VariantStatus.PENDING, NOW
    )
    j = Job(new_id(), i.id, v.id, u.id, JobStatus.QUEUED, NOW)
    async with db.unit_of_work() as uow:
        await uow.users.add(u)
        await uow.images.add(i)
        await uow.variants.add(v)
        await uow.jobs.add(j)
        await uow.commit()
    return u, i, v, j


async def test_users_round_trip_with_aware_times(database: Database) -> None:
    u = user()
    async with database.unit_of_work() as uow:
        await uow.users.add(u)
        await uow.commit()
    async with database.unit_of_work() as uow:
        got = await uow.users.get(u.id)
        by_mail = await uow.users.find_by_login("ALICE@example.com")
        by_name = await uow.users.find_by_login("Alice")
        taken = await uow.users.exists(username="ALICE", email="new@example.com")
    assert got == u and by_mail == u and by_name == u
    assert got is not None and got.created_at.tzinfo is not None
    assert taken == (True, False)


async def test_unique_keys_raise_conflict(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await uow.users.add(user("alice"))
        await uow.commit()
    async with database.unit_of_work() as uow:
        with pytest.raises(Conflict):
            await uow.users.add(user("ALICE"))


async def test_uncommitted_work_is_rolled_back(database: Database) -> None:
    u = user()
    async with database.unit_of_work() as uow:
        await uow.users.add(u)
    async with database.unit_of_work() as uow:
        assert await uow.users.get(u.id) is None


async def test_sessions_rotate_once_and_revoke(database: Database) -> None:
    u = user()
    s = AuthSession(new_id(), u.id, NOW, NOW + timedelta(days=1), "jti-1")
    async with database.unit_of_work() as uow:
        await uow.users.add(u)
        await uow.sessions.add(s)
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.sessions.rotate(s.id, expected_jti="jti-1", new_jti="jti-2")
        assert not await uow.sessions.rotate(s.id, expected_jti="jti-1", new_jti="jti-3")
        assert await uow.sessions.active_user(s.id, now=NOW) == u
        assert await uow.sessions.active_user(s.id, now=NOW + timedelta(days=2)) is None
        await uow.sessions.revoke(s.id, NOW)
        assert await uow.sessions.active_user(s.id, now=NOW) is None
        await uow.commit()


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
    assert [i.id for i in first.items] == [images[4].id, images[3].id]
    assert [i.id for i in last.items] == [images[0].id]
    assert first.total == 5 and first.pages == 3
    assert everyone.total == 6
    assert named is not None and named.id == images[4].id


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


async def test_deleting_an_image_takes_variants_and_jobs(database: Database) -> None:
    _, i, v, j = await seed_job(database)
    async with database.unit_of_work() as uow:
        await uow.images.delete(i.id)
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.variants.get(v.id) is None
        assert await uow.jobs.get(j.id) is None


async def test_one_claim_wins_under_concurrency(database: Database) -> None:
    _, _, _, j = await seed_job(database)

    async def claim() -> Claim:
        async with database.unit_of_work() as uow:
            got = await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
            await uow.commit()
            return got

    claims = await asyncio.gather(*(claim() for _ in range(8)))
    winners = [c for c in claims if c.outcome is ClaimOutcome.CLAIMED]
    assert len(winners) == 1
    assert {c.outcome for c in claims} == {ClaimOutcome.CLAIMED, ClaimOutcome.BUSY}
    won = winners[0].job
    assert won is not None and won.status is JobStatus.PROCESSING and won.attempts == 1
    assert won.lease_until == LEASE


async def test_a_job_whose_lease_ended_is_taken_again(database: Database) -> None:
    _, _, _, j = await seed_job(database)
    after = LEASE + timedelta(seconds=1)
    async with database.unit_of_work() as uow:
        first = await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
        assert first.outcome is ClaimOutcome.CLAIMED
        # leased: not claimable, not listed as unfinished; BUSY names when the lease ends
        busy = await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
        assert busy.outcome is ClaimOutcome.BUSY and busy.job and busy.job.lease_until == LEASE
        assert await uow.jobs.unfinished(now=NOW) == []
        # the running worker renews its claim; a renewal of another claim does nothing
        assert await uow.jobs.renew(j.id, attempt=1, lease_until=LEASE + timedelta(minutes=1))
        assert not await uow.jobs.renew(j.id, attempt=2, lease_until=NOW)
        assert await uow.jobs.unfinished(now=after) == []
        # the lease ends: listed, and claimed again with the attempt counted
        later = LEASE + timedelta(minutes=2)
        assert await uow.jobs.unfinished(now=later) == [j.id]
        again = await uow.jobs.claim(j.id, now=later, lease_until=later + LEASE_LENGTH,
                                     max_attempts=3)  # fmt: skip
        assert again.outcome is ClaimOutcome.CLAIMED and again.job and again.job.attempts == 2
        assert not await uow.jobs.renew(j.id, attempt=1, lease_until=later)  # that claim is over
        await uow.jobs.finish(j.id, JobStatus.PROCESSED, now=later)
        done = await uow.jobs.claim(j.id, now=later + timedelta(days=1), lease_until=later,
                                    max_attempts=3)  # fmt: skip
        assert done.outcome is ClaimOutcome.GONE
        assert await uow.jobs.unfinished(now=later + timedelta(days=1)) == []
        missing = await uow.jobs.claim("nope", now=NOW, lease_until=LEASE, max_attempts=3)
        assert missing.outcome is ClaimOutcome.GONE and missing.job is None
        await uow.commit()


async def test_a_job_that_kills_its_worker_every_time_fails_as_worker_crashed(
    database: Database,
) -> None:
    _, _, _, j = await seed_job(database)
    now = NOW
    async with database.unit_of_work() as uow:
        for attempt in (1, 2, 3):
            got = await uow.jobs.claim(j.id, now=now, lease_until=now + LEASE_LENGTH,
                                       max_attempts=3)  # fmt: skip
            assert got.outcome is ClaimOutcome.CLAIMED and got.job and got.job.attempts == attempt
            now += LEASE_LENGTH * 2  # the worker died: nobody renewed
        crashed = await uow.jobs.claim(j.id, now=now, lease_until=now + LEASE_LENGTH,
                                       max_attempts=3)  # fmt: skip
        assert crashed.outcome is ClaimOutcome.CRASHED
        assert crashed.job is not None and crashed.job.status is JobStatus.FAILED
        assert crashed.job.code == "worker_crashed" and crashed.job.attempts == 3
        assert await uow.jobs.unfinished(now=now + timedelta(days=1)) == []
        await uow.commit()


async def test_failure_codes_and_expired_leases(database: Database) -> None:
    _, _, _, j = await seed_job(database)
    async with database.unit_of_work() as uow:
        await uow.jobs.claim(j.id, now=NOW, lease_until=LEASE, max_attempts=3)
        # a process that ran jobs in itself restarts: leases of jobs started before it end
        assert await uow.jobs.expire_leases(started_before=NOW) == 0
        assert await uow.jobs.expire_leases(started_before=NOW + timedelta(seconds=1)) == 1
        assert await uow.jobs.unfinished(now=NOW + timedelta(seconds=2)) == [j.id]
        await uow.jobs.finish(
            j.id, JobStatus.FAILED, now=NOW, error="Too big.", code="output_too_large"
        )
        failed = await uow.jobs.get(j.id)
        assert failed is not None and failed.code == "output_too_large"
        assert failed.lease_until is None
        await uow.commit()


async def test_ping(database: Database) -> None:
    await database.ping()


async def test_variants_found_together_and_saved_in_one_statement(database: Database) -> None:
    _, i, pending, _ = await seed_job(database)
    ready = VariantStatus.READY
    turned = parse_spec({"rotate": 180})
    other = Variant(new_id(), i.id, turned.hash, turned, "key2", OutputFormat.PNG, ready, NOW)
    async with database.unit_of_work() as uow:
        await uow.variants.save(other)  # new: added as it is
        # The same spec again (say, an on-the-fly render of what a job queued): its outcome
        # lands on the existing row, whose id, key and spec stay.
        done = Variant(
            new_id(), i.id, pending.spec_hash, pending.spec, "other", OutputFormat.JPEG, ready, NOW
        )
        done.width, done.height, done.size, done.flattened = 3, 4, 50, True
        await uow.variants.save(done)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        hashes = [pending.spec_hash, other.spec_hash, "missing"]
        found = await uow.variants.find_many(i.id, hashes)
        none = await uow.variants.find_many(new_id(), [pending.spec_hash])
    assert set(found) == {pending.spec_hash, other.spec_hash} and none == {}
    assert found[other.spec_hash] == other
    saved = found[pending.spec_hash]
    assert (saved.id, saved.storage_key, saved.spec) == (pending.id, "key", pending.spec)
    assert saved.spec.canonical() == {"rotate": 90}
    assert saved.status is VariantStatus.READY and saved.flattened
    assert (saved.width, saved.height, saved.size) == (3, 4, 50)


async def test_a_locked_image_waits_for_its_unit_of_work(database: Database) -> None:
    # What an on-the-fly render relies on: while it records a variant of an image it read with
    # `lock`, a delete of that image waits for it (and then purges what it wrote).
    _, i, _, _ = await seed_job(database)
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


async def test_lost_notifications_are_those_whose_next_step_is_overdue(database: Database) -> None:
    from pixelpress.domain.models import Notification, NotificationStatus, NotificationType

    u = user()
    async with database.unit_of_work() as uow:
        await uow.users.add(u)

        def note(name: str, **fields: object) -> Notification:
            values: dict[str, object] = {"status": NotificationStatus.PENDING} | fields
            return Notification(
                name.ljust(32, "0"), u.id, NotificationType.EMAIL, "m", created_at=NOW,
                **values,  # type: ignore[arg-type]
            )  # fmt: skip

        for n in (
            note("fresh"),  # never tried, created at NOW
            note("retry", attempts=1, next_attempt_at=NOW + timedelta(minutes=10)),
            note("overdue", attempts=1, next_attempt_at=NOW - timedelta(minutes=1)),
            note("sent", attempts=1, status=NotificationStatus.SENT),
        ):
            await uow.notifications.add(n)
        await uow.commit()
    async with database.unit_of_work(readonly=True) as uow:
        assert await uow.notifications.lost(before=NOW) == ["overdue".ljust(32, "0")]
        later = await uow.notifications.lost(before=NOW + timedelta(minutes=11))
    assert sorted(later) == sorted(n.ljust(32, "0") for n in ("fresh", "retry", "overdue"))
