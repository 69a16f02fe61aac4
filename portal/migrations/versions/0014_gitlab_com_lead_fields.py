"""leads: GitLab.com's trial leads (namespace_id; add_on null for an Ultimate trial) and GitLab's
later lead fields (company_size, phone_number, state)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("company_size", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("phone_number", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("namespace_id", sa.Integer(), nullable=True))
        batch_op.alter_column("add_on", existing_type=sa.String(length=30), nullable=True)


def downgrade() -> None:
    # An Ultimate trial's lead names no add-on: those leads go with the columns.
    op.execute(sa.text("DELETE FROM leads WHERE add_on IS NULL"))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.alter_column("add_on", existing_type=sa.String(length=30), nullable=False)
        batch_op.drop_column("namespace_id")
        batch_op.drop_column("state")
        batch_op.drop_column("phone_number")
        batch_op.drop_column("company_size")
