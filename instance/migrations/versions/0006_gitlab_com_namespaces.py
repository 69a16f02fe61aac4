"""GitLab.com: groups, projects, members, a group's subscription; add-on purchases per group

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webcore.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INSTANCE_WIDE = sa.text("namespace_id IS NULL")


def upgrade() -> None:
    op.create_table(
        "namespaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("full_path", sa.String(length=1000), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("root_id", sa.Integer(), nullable=True),
        sa.Column("created_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["namespaces.id"],
            name=op.f("fk_namespaces_parent_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["namespaces.id"],
            name=op.f("fk_namespaces_root_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_namespaces")),
        sa.UniqueConstraint("full_path", name=op.f("uq_namespaces_full_path")),
    )
    op.create_index(op.f("ix_namespaces_parent_id"), "namespaces", ["parent_id"])
    op.create_index(op.f("ix_namespaces_root_id"), "namespaces", ["root_id"])
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("full_path", sa.String(length=1000), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("created_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespaces.id"],
            name=op.f("fk_projects_namespace_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["namespaces.id"],
            name=op.f("fk_projects_root_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("full_path", name=op.f("uq_projects_full_path")),
    )
    op.create_index(op.f("ix_projects_namespace_id"), "projects", ["namespace_id"])
    op.create_index(op.f("ix_projects_root_id"), "projects", ["root_id"])
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("access_level", sa.Integer(), nullable=False),
        sa.Column("created_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(namespace_id IS NULL) <> (project_id IS NULL)",
            name=op.f("ck_members_group_or_project"),
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespaces.id"],
            name=op.f("fk_members_namespace_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_members_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["namespaces.id"],
            name=op.f("fk_members_root_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("user_id", "namespace_id", name="uq_members_user_id_namespace_id"),
        sa.UniqueConstraint("user_id", "project_id", name="uq_members_user_id_project_id"),
    )
    for column in ("user_id", "namespace_id", "project_id", "root_id"):
        op.create_index(op.f(f"ix_members_{column}"), "members", [column])
    op.create_table(
        "gitlab_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("plan_code", sa.String(length=20), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("trial", sa.Boolean(), nullable=False),
        sa.Column("trial_starts_on", sa.Date(), nullable=True),
        sa.Column("trial_ends_on", sa.Date(), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("seats_in_use", sa.Integer(), nullable=False),
        sa.Column("max_seats_used", sa.Integer(), nullable=False),
        sa.Column("provisioned_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespaces.id"],
            name=op.f("fk_gitlab_subscriptions_namespace_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gitlab_subscriptions")),
        sa.UniqueConstraint("namespace_id", name=op.f("uq_gitlab_subscriptions_namespace_id")),
    )
    op.create_table(
        "received_nonces",
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("expires_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_received_nonces")),
    )
    op.create_index(op.f("ix_received_nonces_expires_at"), "received_nonces", ["expires_at"])
    with op.batch_alter_table("add_on_purchases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("namespace_id", sa.Integer(), nullable=True))
        batch_op.drop_constraint("uq_add_on_purchases_add_on", type_="unique")
        batch_op.create_foreign_key(
            batch_op.f("fk_add_on_purchases_namespace_id_namespaces"),
            "namespaces",
            ["namespace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_add_on_purchases_namespace_id"), ["namespace_id", "add_on"]
        )
        batch_op.create_index(
            batch_op.f("ix_add_on_purchases_namespace_id"), ["namespace_id"], unique=False
        )
    op.create_index(
        "uq_add_on_purchases_instance_add_on",
        "add_on_purchases",
        ["add_on"],
        unique=True,
        sqlite_where=_INSTANCE_WIDE,
        postgresql_where=_INSTANCE_WIDE,
    )


def downgrade() -> None:
    op.drop_index("uq_add_on_purchases_instance_add_on", table_name="add_on_purchases")
    op.execute("DELETE FROM add_on_purchases WHERE namespace_id IS NOT NULL")
    with op.batch_alter_table("add_on_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_add_on_purchases_namespace_id"))
        batch_op.drop_constraint(batch_op.f("uq_add_on_purchases_namespace_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_add_on_purchases_namespace_id_namespaces"), type_="foreignkey"
        )
        batch_op.create_unique_constraint("uq_add_on_purchases_add_on", ["add_on"])
        batch_op.drop_column("namespace_id")
    op.drop_index(op.f("ix_received_nonces_expires_at"), table_name="received_nonces")
    op.drop_table("received_nonces")
    op.drop_table("gitlab_subscriptions")
    op.drop_table("members")
    op.drop_table("projects")
    op.drop_table("namespaces")
