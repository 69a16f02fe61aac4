"""sync_status: the GitLab version the instance ran at its last sync or activation attempt

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webcore.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_status") as batch_op:
        batch_op.add_column(sa.Column("gitlab_version", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("gitlab_version_at", webcore.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_status") as batch_op:
        batch_op.drop_column("gitlab_version_at")
        batch_op.drop_column("gitlab_version")
