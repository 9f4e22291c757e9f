"""Request and response bodies of the HTTP API (see shared/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from pydantic.config import JsonDict

from pixelpress.api.strict import Strict
from pixelpress.domain.models import Job, PageOf, User, Variant
from pixelpress.usecases.images import ImageView

T = TypeVar("T")


class ErrorOut(BaseModel):
    """The one error envelope (api/errors.py writes it)."""

    error: str
    code: str
    details: Any = None
    statusCode: int


ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "Refused: the error envelope says why."},
    "5XX": {"model": ErrorOut, "description": "A dependency is down (503, with Retry-After)."},
}
"""Documented on every route: what any of them may answer besides its success."""


# The rules below are checked by the use cases (with their own messages, after NFKC for names);
# the schema states them too, so that clients and fuzzers know them.
USERNAME_RULE: JsonDict = {
    "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$",
    "minLength": 3,
    "maxLength": 32,
}
PASSWORD_RULE: JsonDict = {"minLength": 8, "maxLength": 128}


class RegisterIn(Strict):
    username: str = Field(max_length=64, json_schema_extra=USERNAME_RULE)
    email: EmailStr
    password: str = Field(max_length=256, json_schema_extra=PASSWORD_RULE)


class LoginIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["username"]}, {"required": ["email"]}]}
    )
    username: str | None = Field(default=None, max_length=254, json_schema_extra={"minLength": 1})
    email: str | None = Field(default=None, max_length=254, json_schema_extra={"minLength": 1})
    password: str = Field(max_length=256)
    remember_me: bool = False


class RefreshIn(Strict):
    refresh_token: str | None = Field(default=None, max_length=4096)


class LogoutIn(Strict):
    token: str | None = Field(default=None, max_length=4096)


class UserOut(BaseModel):
    id: str
    username: str
    email: str
    role: str
    created_at: datetime
    last_login: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            role=user.role,
            created_at=user.created_at,
            last_login=user.last_login,
        )


class AuthOut(BaseModel):
    message: str
    user: UserOut
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


class MessageOut(BaseModel):
    message: str


class VariantOut(BaseModel):
    id: str
    status: str
    format: str
    width: int | None
    height: int | None
    size: int | None
    spec: dict[str, Any]
    created_at: datetime
    flattened: bool = False

    @classmethod
    def of(cls, v: Variant) -> VariantOut:
        return cls(
            id=v.id,
            status=v.status,
            format=v.format,
            width=v.width,
            height=v.height,
            size=v.size,
            spec=v.spec.canonical(),
            created_at=v.created_at,
            flattened=v.flattened,
        )


class ImageOut(BaseModel):
    id: str
    filename: str
    format: str
    width: int
    height: int
    frames: int
    size: int
    content_hash: str
    created_at: datetime
    status: str
    url: str
    variants: list[VariantOut]
    placeholder: dict[str, str] | None = None

    @classmethod
    def of(cls, view: ImageView) -> ImageOut:
        image = view.image
        return cls(
            id=image.id,
            filename=image.filename,
            format=image.format,
            width=image.width,
            height=image.height,
            frames=image.frames,
            size=image.size,
            content_hash=image.content_hash,
            created_at=image.created_at,
            status=view.status,
            url=f"/api/v1/images/{image.id}",
            variants=[VariantOut.of(v) for v in view.variants],
            placeholder=(
                {"blurhash": image.blurhash, "dominant_color": image.dominant_color}
                if image.blurhash and image.dominant_color
                else None
            ),
        )


class PageOut(BaseModel, Generic[T]):
    """One page of a listing."""

    items: list[T]
    page: int
    limit: int
    total: int
    pages: int

    @classmethod
    def of(cls, found: PageOf[Any], items: list[T]) -> PageOut[T]:
        return cls(
            items=items,
            page=found.page.number,
            limit=found.page.size,
            total=found.total,
            pages=found.pages,
        )


class UploadOut(BaseModel):
    message: str
    imageId: str
    image: ImageOut
    jobId: str | None = None
    statusUrl: str | None = None


class JobOut(BaseModel):
    id: str
    imageId: str
    status: str
    variantId: str
    attempts: int
    error: str | None
    code: str | None = Field(
        default=None,
        description="Why it failed, for machines: worker_crashed, output_too_large, ...",
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            imageId=job.image_id,
            status=job.status.label,
            variantId=job.variant_id,
            attempts=job.attempts,
            error=job.error,
            code=job.code,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class TransformOut(BaseModel):
    message: str
    variantId: str
    jobId: str | None
    statusUrl: str
    variant: VariantOut


class StatusOut(BaseModel):
    imageId: str
    status: str
    jobs: list[JobOut]


class DownloadOut(BaseModel):
    downloadUrl: str
    expiresAt: datetime
