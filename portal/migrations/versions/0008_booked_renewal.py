"""subscriptions: a renewal sales booked before the term ends (renewal_seats, renewal_ends_on),
so the next term starts on the old end date as a term of its own

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewal_seats", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("renewal_ends_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("renewal_ends_on")
        batch_op.drop_column("renewal_seats")
