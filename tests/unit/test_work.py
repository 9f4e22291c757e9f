"""The rules of a job's and a variant's states, on the entities themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pixelpress.domain.spec import OutputFormat, parse_spec
from pixelpress.domain.work import ClaimOutcome, Job, JobStatus, Variant, VariantStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LEASE = timedelta(seconds=20)


def job() -> Job:
    return Job("j", "i", "v", "u", JobStatus.QUEUED, NOW)


def test_a_claim_counts_the_attempt_and_leases_the_job() -> None:
    j = job()
    assert j.claim(now=NOW, lease_until=NOW + LEASE, max_attempts=3) is ClaimOutcome.CLAIMED
    assert (j.status, j.attempts, j.started_at, j.lease_until) == (
        JobStatus.PROCESSING, 1, NOW, NOW + LEASE
    )  # fmt: skip
    assert j.status.label == "in progress"
    # a live lease: nobody else takes it; renewed, it lasts
    assert j.claim(now=NOW + LEASE / 2, lease_until=NOW, max_attempts=3) is ClaimOutcome.BUSY
    j.renew(NOW + 2 * LEASE)
    assert not j.claimable(NOW + LEASE + timedelta(seconds=1))
    # lapsed: taken again, counted again
    later = NOW + 3 * LEASE
    assert j.claimable(later)
    assert j.claim(now=later, lease_until=later + LEASE, max_attempts=3) is ClaimOutcome.CLAIMED
    assert j.attempts == 2


def test_the_last_claim_of_a_job_that_never_finishes_fails_it() -> None:
    j = job()
    now = NOW
    for attempt in (1, 2):
        assert j.claim(now=now, lease_until=now + LEASE, max_attempts=2) is ClaimOutcome.CLAIMED
        assert j.attempts == attempt
        now += 2 * LEASE
    assert j.claim(now=now, lease_until=now + LEASE, max_attempts=2) is ClaimOutcome.CRASHED
    assert (j.status, j.code, j.finished_at, j.lease_until) == (
        JobStatus.FAILED, "worker_crashed", now, None
    )  # fmt: skip
    assert j.claim(now=now, lease_until=now, max_attempts=9) is ClaimOutcome.GONE


def test_finish_and_requeue() -> None:
    j = job()
    j.claim(now=NOW, lease_until=NOW + LEASE, max_attempts=3)
    j.requeue("storage down")
    assert (j.status, j.started_at, j.lease_until, j.error) == (
        JobStatus.QUEUED, None, None, "storage down"
    )  # fmt: skip
    j.finish(JobStatus.FAILED, now=NOW, error="too big", code="edge_too_long")
    assert (j.status.label, j.code, j.error) == ("failed", "edge_too_long", "too big")


def test_a_variant_s_states() -> None:
    spec = parse_spec({"rotate": 90})
    v = Variant("v", "i", spec.hash, spec, "k", OutputFormat.JPEG, VariantStatus.PENDING, NOW)
    assert not v.retry()  # only a failed one is retried
    v.mark_failed()
    assert v.status is VariantStatus.FAILED
    assert v.retry() and v.status is VariantStatus.PENDING
    v.mark_ready(width=3, height=4, size=5, flattened=True)
    assert (v.status, v.width, v.height, v.size, v.flattened) == (
        VariantStatus.READY,
        3,
        4,
        5,
        True,
    )
    v.mark_failed()  # rendered already by another way: it stays ready
    assert v.status is VariantStatus.READY
