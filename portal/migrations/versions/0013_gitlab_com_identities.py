"""gitlab_com_identities: a portal account's linked GitLab.com account and its OAuth tokens

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webcore.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gitlab_com_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("gitlab_user_id", sa.Integer(), nullable=False),
        sa.Column("gitlab_username", sa.String(length=255), nullable=False),
        sa.Column("access_token_sealed", sa.Text(), nullable=False),
        sa.Column("refresh_token_sealed", sa.Text(), nullable=True),
        sa.Column("linked_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_gitlab_com_identities_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gitlab_com_identities")),
        sa.UniqueConstraint("account_id", name=op.f("uq_gitlab_com_identities_account_id")),
        sa.UniqueConstraint("gitlab_user_id", name=op.f("uq_gitlab_com_identities_gitlab_user_id")),
    )


def downgrade() -> None:
    op.drop_table("gitlab_com_identities")
