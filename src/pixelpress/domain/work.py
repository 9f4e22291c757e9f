"""The work Pixelpress does for images: variants (one per image and canonical spec) and the jobs
that render them, with the rules of their states. The repositories persist what these methods
decide; the use cases call them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pixelpress.domain.spec.types import OutputFormat, TransformSpec

WORKER_CRASHED = "worker_crashed"
CRASH_MESSAGE = "The job stopped its worker every time it ran (a crash or an out-of-memory kill)."


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.PROCESSED, JobStatus.FAILED)

    @property
    def label(self) -> str:
        """As people read it (the API's word): `in progress` while processing."""
        return "in progress" if self is JobStatus.PROCESSING else str(self)


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"
    """This worker holds the job now, under a fresh lease."""
    BUSY = "busy"
    """Another worker holds a live lease on it: try again when the lease ends."""
    CRASHED = "crashed"
    """It was claimed its last allowed time and its worker never finished: now failed."""
    GONE = "gone"
    """Finished, or deleted with its image: nothing to do."""


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    job: Job | None = None


class VariantStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


@dataclass
class Variant:
    id: str
    image_id: str
    spec_hash: str
    spec: TransformSpec
    storage_key: str
    format: OutputFormat
    status: VariantStatus
    created_at: datetime
    width: int | None = None
    height: int | None = None
    size: int | None = None
    flattened: bool = False
    """An animated source rendered as its first frame only."""

    def mark_ready(self, *, width: int, height: int, size: int, flattened: bool) -> None:
        """Rendered and stored."""
        self.status = VariantStatus.READY
        self.width, self.height, self.size, self.flattened = width, height, size, flattened

    def mark_failed(self) -> None:
        """Its job failed for good; a variant rendered already (by another way) stays ready."""
        if self.status is not VariantStatus.READY:
            self.status = VariantStatus.FAILED

    def retry(self) -> bool:
        """Asked for again after a failure: pending once more. False when it was not failed."""
        if self.status is not VariantStatus.FAILED:
            return False
        self.status = VariantStatus.PENDING
        return True


@dataclass
class Job:
    id: str
    image_id: str
    variant_id: str
    owner_id: str
    status: JobStatus
    created_at: datetime
    attempts: int = 0
    """Claims so far: counted when a worker takes the job, so a job that kills its worker is
    counted too."""
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_until: datetime | None = None
    """While processing: the worker holding it renews this; once past, another may take it."""
    code: str | None = None
    """Why it failed, for machines (`worker_crashed`, `output_too_large`, ...)."""

    def claimable(self, now: datetime) -> bool:
        """Queued, or processing under a lease that has ended (its worker died)."""
        if self.status is JobStatus.QUEUED:
            return True
        return (
            self.status is JobStatus.PROCESSING
            and self.lease_until is not None
            and self.lease_until < now
        )

    def claim(self, *, now: datetime, lease_until: datetime, max_attempts: int) -> ClaimOutcome:
        """A worker takes the job: the attempt is counted and the job leased until
        `lease_until`. A job whose lease ended after its last allowed claim kills whatever runs
        it: it fails as `worker_crashed` instead."""
        if self.status.finished:
            return ClaimOutcome.GONE
        if not self.claimable(now):
            return ClaimOutcome.BUSY
        if self.status is JobStatus.PROCESSING and self.attempts >= max_attempts:
            self.finish(JobStatus.FAILED, now=now, error=CRASH_MESSAGE, code=WORKER_CRASHED)
            return ClaimOutcome.CRASHED
        self.status = JobStatus.PROCESSING
        self.started_at = now
        self.lease_until = lease_until
        self.attempts += 1
        return ClaimOutcome.CLAIMED

    def renew(self, lease_until: datetime) -> None:
        """The running worker is alive: the lease goes on."""
        self.lease_until = lease_until

    def finish(
        self,
        status: JobStatus,
        *,
        now: datetime,
        error: str | None = None,
        code: str | None = None,
    ) -> None:
        self.status, self.finished_at, self.error, self.code = status, now, error, code
        self.lease_until = None

    def requeue(self, error: str) -> None:
        """To be tried again later (a dependency was down)."""
        self.status, self.started_at, self.lease_until, self.error = (
            JobStatus.QUEUED,
            None,
            None,
            error,
        )
