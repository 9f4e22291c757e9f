"""jobs carry a lease (renewed while they run) and a failure code; sessions remember remember-me

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pixelpress.adapters.sql.tables import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("lease_until", UTCDateTime(), nullable=True))
    op.add_column("jobs", sa.Column("code", sa.String(64), nullable=True))
    op.create_index("ix_jobs_status_lease", "jobs", ["status", "lease_until"])
    # Jobs in processing at the upgrade get their start as their lease: the next sweep may take
    # them again, which is harmless (a job run twice writes one object and one row).
    op.execute(sa.text("UPDATE jobs SET lease_until = started_at WHERE status = 'processing'"))
    op.add_column(
        "auth_sessions",
        sa.Column("persistent", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_status_lease", table_name="jobs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("code")
        batch_op.drop_column("lease_until")
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_column("persistent")
