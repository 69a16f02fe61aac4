"""namespace_links.trial_subscription_id: the Ultimate trial a purchase for the group replaced
(the group keeps it: no second trial, and a GitLab Duo trial on it runs on)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("namespace_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trial_subscription_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_namespace_links_trial_subscription_id_subscriptions"),
            "subscriptions",
            ["trial_subscription_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(
            op.f("uq_namespace_links_trial_subscription_id"), ["trial_subscription_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("namespace_links", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_namespace_links_trial_subscription_id"), type_="unique")
        batch_op.drop_constraint(
            op.f("fk_namespace_links_trial_subscription_id_subscriptions"), type_="foreignkey"
        )
        batch_op.drop_column("trial_subscription_id")
