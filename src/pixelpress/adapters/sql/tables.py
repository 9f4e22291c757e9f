"""The schema, in SQLAlchemy Core. Alembic migrations are the history; this is the current shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out; SQLite hands back naive datetimes otherwise."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(32)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", String(32), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login", UTCDateTime, nullable=True),
    Column("notify_email", Boolean, nullable=False, default=False, server_default=false()),
    Column("webhook_url", String(2048), nullable=True),
    Column("webhook_secret", String(128), nullable=True),
)
Index("uq_users_username_lower", func.lower(users.c.username), unique=True)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("current_refresh_jti", ID, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("persistent", Boolean, nullable=False, default=False, server_default=false()),
)

images = Table(
    "images",
    metadata,
    Column("id", ID, primary_key=True),
    Column("owner_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("format", String(8), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("frames", Integer, nullable=False, default=1),
    Column("size", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("storage_key", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("blurhash", String(64), nullable=True),
    Column("dominant_color", String(7), nullable=True),
)
Index("ix_images_owner_created", images.c.owner_id, images.c.created_at)

variants = Table(
    "variants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("image_id", ID, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("spec_hash", String(64), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("storage_key", String(255), nullable=False),
    Column("format", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("size", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("flattened", Boolean, nullable=False, default=False, server_default=false()),
    UniqueConstraint("image_id", "spec_hash"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("image_id", ID, ForeignKey("images.id", ondelete="CASCADE"), nullable=False, index=True),
    Column(
        "variant_id", ID, ForeignKey("variants.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("owner_id", ID, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("code", String(64), nullable=True),
)
Index("ix_jobs_status_started", jobs.c.status, jobs.c.started_at)
Index("ix_jobs_status_lease", jobs.c.status, jobs.c.lease_until)

logs = Table(
    "logs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("level", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("image_id", ID, nullable=True),
    Column("source", String(16), nullable=False),
    Column("context", JSON, nullable=True),
)
Index("ix_logs_user_timestamp", logs.c.user_id, logs.c.timestamp)
Index("ix_logs_timestamp", logs.c.timestamp)

notifications = Table(
    "notifications",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("event", String(32), nullable=False),
    Column("image_id", ID, nullable=True),
    Column("job_id", ID, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),
)
Index("ix_notifications_user_created", notifications.c.user_id, notifications.c.created_at)

presets = Table(
    "presets",
    metadata,
    Column("id", ID, primary_key=True),
    Column("owner_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    # The owner's id, or GLOBAL_SCOPE: unique with the name (NULLs would never collide).
    Column("scope", ID, nullable=False),
    Column("name", String(32), nullable=False),
    Column("options", Text, nullable=False),
    Column("public", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("scope", "name"),
)
GLOBAL_SCOPE = "*"

preset_variants = Table(
    "preset_variants",
    metadata,
    Column("preset_id", ID, ForeignKey("presets.id", ondelete="CASCADE"), nullable=False),
    Column("image_id", ID, nullable=False),
    Column("spec_hash", String(64), nullable=False),
    PrimaryKeyConstraint("preset_id", "image_id", "spec_hash"),
    # A link goes with its variant, however that is removed (image deleted, replaced, ...).
    ForeignKeyConstraint(
        ["image_id", "spec_hash"],
        ["variants.image_id", "variants.spec_hash"],
        ondelete="CASCADE",
        name="fk_preset_variants_variant",
    ),
)
Index("ix_preset_variants_variant", preset_variants.c.image_id, preset_variants.c.spec_hash)
