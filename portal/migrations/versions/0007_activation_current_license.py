"""activations: the cloud license last answered (license_id), so a sync that changes nothing
finds it with the activation and signs nothing

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("license_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_activations_license_id_issued_licenses"),
            "issued_licenses",
            ["license_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("activations", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_activations_license_id_issued_licenses"), type_="foreignkey"
        )
        batch_op.drop_column("license_id")
