"""named presets, and which variants were made through each

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pixelpress.adapters.sql.tables import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "presets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_presets_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presets")),
        sa.UniqueConstraint("scope", "name", name=op.f("uq_presets_scope_name")),
    )
    op.create_table(
        "preset_variants",
        sa.Column("preset_id", sa.String(length=32), nullable=False),
        sa.Column("image_id", sa.String(length=32), nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["preset_id"],
            ["presets.id"],
            name=op.f("fk_preset_variants_preset_id_presets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["image_id", "spec_hash"],
            ["variants.image_id", "variants.spec_hash"],
            name="fk_preset_variants_variant",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "preset_id", "image_id", "spec_hash", name=op.f("pk_preset_variants")
        ),
    )
    op.create_index(
        "ix_preset_variants_variant", "preset_variants", ["image_id", "spec_hash"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_preset_variants_variant", table_name="preset_variants")
    op.drop_table("preset_variants")
    op.drop_table("presets")
