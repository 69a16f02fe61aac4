"""Personal access tokens: the token a rotation replaced (GitLab's token family)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("personal_access_tokens") as batch:
        batch.add_column(
            sa.Column("previous_personal_access_token_id", sa.Integer(), nullable=True)
        )
        batch.create_foreign_key(
            "fk_personal_access_tokens_previous",
            "personal_access_tokens",
            ["previous_personal_access_token_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(
            "ix_personal_access_tokens_previous_personal_access_token_id",
            ["previous_personal_access_token_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("personal_access_tokens") as batch:
        batch.drop_index("ix_personal_access_tokens_previous_personal_access_token_id")
        batch.drop_constraint("fk_personal_access_tokens_previous", type_="foreignkey")
        batch.drop_column("previous_personal_access_token_id")
