"""GitLab.com: subscriptions linked to top-level groups, and the seat usage they report

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webcore.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "namespace_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("namespace_path", sa.String(length=255), nullable=False),
        sa.Column("linked_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_provisioned_at", webcore.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seats_in_use", sa.Integer(), nullable=True),
        sa.Column("max_seats_used", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_namespace_links_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_namespace_links")),
        sa.UniqueConstraint("namespace_id", name=op.f("uq_namespace_links_namespace_id")),
        sa.UniqueConstraint("subscription_id", name=op.f("uq_namespace_links_subscription_id")),
    )


def downgrade() -> None:
    op.drop_table("namespace_links")
