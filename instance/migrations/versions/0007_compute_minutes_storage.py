"""GitLab.com consumables (R6): compute-minute packs, monthly compute usage, purchased storage,
project storage

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _namespace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["namespace_id"],
        ["namespaces.id"],
        name=op.f(f"fk_{table}_namespace_id_namespaces"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "ci_minutes_additional_packs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("purchase_xid", sa.String(length=100), nullable=False),
        sa.Column("number_of_minutes", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Date(), nullable=False),
        sa.Column("used_minutes", sa.Integer(), nullable=False),
        _namespace_fk("ci_minutes_additional_packs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ci_minutes_additional_packs")),
        sa.UniqueConstraint(
            "namespace_id", "purchase_xid", name="uq_ci_minutes_additional_packs_namespace_xid"
        ),
    )
    op.create_index(
        op.f("ix_ci_minutes_additional_packs_namespace_id"),
        "ci_minutes_additional_packs",
        ["namespace_id"],
    )
    op.create_table(
        "ci_namespace_monthly_usages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount_used", sa.Integer(), nullable=False),
        sa.Column("additional_amount_used", sa.Integer(), nullable=False),
        _namespace_fk("ci_namespace_monthly_usages"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ci_namespace_monthly_usages")),
        sa.UniqueConstraint("namespace_id", "date", name="uq_ci_namespace_monthly_usages_month"),
    )
    op.create_index(
        op.f("ix_ci_namespace_monthly_usages_namespace_id"),
        "ci_namespace_monthly_usages",
        ["namespace_id"],
    )
    op.create_table(
        "namespace_limits",
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("additional_purchased_storage_size", sa.Integer(), nullable=False),
        sa.Column("additional_purchased_storage_ends_on", sa.Date(), nullable=True),
        _namespace_fk("namespace_limits"),
        sa.PrimaryKeyConstraint("namespace_id", name=op.f("pk_namespace_limits")),
    )
    op.create_table(
        "project_statistics",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("storage_size", sa.Integer(), nullable=False),
        _namespace_fk("project_statistics"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_statistics_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_statistics")),
    )
    op.create_index(
        op.f("ix_project_statistics_namespace_id"), "project_statistics", ["namespace_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_project_statistics_namespace_id"), table_name="project_statistics")
    op.drop_table("project_statistics")
    op.drop_table("namespace_limits")
    op.drop_index(
        op.f("ix_ci_namespace_monthly_usages_namespace_id"),
        table_name="ci_namespace_monthly_usages",
    )
    op.drop_table("ci_namespace_monthly_usages")
    op.drop_index(
        op.f("ix_ci_minutes_additional_packs_namespace_id"),
        table_name="ci_minutes_additional_packs",
    )
    op.drop_table("ci_minutes_additional_packs")
