"""Bodies of the notification, log and admin routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from pixelpress.api.schemas import UserOut
from pixelpress.api.strict import CHOICE, IsoDatetime, Strict
from pixelpress.domain.models import (
    JobStatus,
    LogEntry,
    LogLevel,
    Notification,
    NotificationType,
    Role,
    User,
)


class PreferencesIn(Strict):
    email: bool = False
    webhookUrl: str | None = Field(default=None, max_length=2048)


class PreferencesOut(BaseModel):
    email: bool
    webhookUrl: str | None
    webhookSecret: str | None = Field(
        default=None, description="Shown once, when a new webhook URL is set."
    )


class SendIn(Strict):
    userId: str = Field(max_length=64)
    message: str = Field(max_length=2000, json_schema_extra={"minLength": 1})
    imageId: str | None = Field(default=None, max_length=64)
    notificationType: NotificationType = CHOICE


class SentOut(BaseModel):
    message: str
    notificationId: str


class NotificationOut(BaseModel):
    id: str
    userId: str
    notificationType: str
    event: str
    message: str
    status: str
    attempts: int
    lastError: str | None
    imageId: str | None
    jobId: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(
            id=n.id,
            userId=n.user_id,
            notificationType=n.type,
            event=n.event,
            message=n.message,
            status=n.status,
            attempts=n.attempts,
            lastError=n.last_error,
            imageId=n.image_id,
            jobId=n.job_id,
            created_at=n.created_at,
            sent_at=n.sent_at,
        )


class LogIn(Strict):
    logLevel: LogLevel = CHOICE
    message: str = Field(max_length=4000)
    timestamp: IsoDatetime | None = None
    imageId: str | None = Field(default=None, max_length=64)
    context: dict[str, Any] | None = None


class LogCreated(BaseModel):
    message: str
    logId: str


class LogOut(BaseModel):
    logId: str
    logLevel: str
    message: str
    timestamp: datetime
    userId: str | None
    imageId: str | None
    source: str
    context: dict[str, Any] | None

    @classmethod
    def of(cls, e: LogEntry) -> LogOut:
        return cls(
            logId=e.id,
            logLevel=e.level,
            message=e.message,
            timestamp=e.timestamp,
            userId=e.user_id,
            imageId=e.image_id,
            source=e.source,
            context=e.context,
        )


class AdminUserOut(UserOut):
    disabled: bool

    @classmethod
    def of(cls, user: User) -> AdminUserOut:
        return cls(**UserOut.of(user).model_dump(), disabled=user.disabled)


class AdminUserPatch(Strict):
    role: Role | None = Field(default=None, strict=False)
    disabled: bool | None = None


class StatsOut(BaseModel):
    users: int
    images: int
    bytesStored: int
    jobs: dict[str, int]

    @staticmethod
    def jobs_of(counts: dict[JobStatus, int]) -> dict[str, int]:
        return {s.label: n for s, n in counts.items()}
