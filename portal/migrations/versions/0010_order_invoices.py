"""invoices: the order an invoice bills (order_id, one invoice an order) and a note saying what
the invoice must explain (the active user count a renewal used, R36)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_invoices_order_id"), ["order_id"])
        batch_op.create_foreign_key(
            op.f("fk_invoices_order_id_orders"), "orders", ["order_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_invoices_order_id_orders"), type_="foreignkey")
        batch_op.drop_constraint(op.f("uq_invoices_order_id"), type_="unique")
        batch_op.drop_column("note")
        batch_op.drop_column("order_id")
