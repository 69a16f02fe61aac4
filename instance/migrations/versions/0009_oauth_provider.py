"""GitLab.com as an OAuth 2 provider: applications, access grants (codes), access tokens

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


def _owner_and_app(table: str) -> list[sa.Column[int] | sa.ForeignKeyConstraint]:
    return [
        sa.Column("resource_owner_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_owner_id"],
            ["users.id"],
            name=op.f(f"fk_{table}_resource_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["oauth_applications.id"],
            name=op.f(f"fk_{table}_application_id_oauth_applications"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "oauth_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("created_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_applications")),
        sa.UniqueConstraint("uid", name=op.f("uq_oauth_applications_uid")),
    )
    op.create_table(
        "oauth_access_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        *_owner_and_app("oauth_access_grants"),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_in", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_challenge_method", sa.String(length=10), nullable=True),
        sa.Column("created_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", webcore.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_access_grants")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_oauth_access_grants_token_digest")),
    )
    op.create_table(
        "oauth_access_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        *_owner_and_app("oauth_access_tokens"),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("refresh_token_digest", sa.String(length=64), nullable=True),
        sa.Column("expires_in", sa.Integer(), nullable=True),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("created_at", webcore.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", webcore.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_access_tokens")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_oauth_access_tokens_token_digest")),
        sa.UniqueConstraint(
            "refresh_token_digest", name=op.f("uq_oauth_access_tokens_refresh_token_digest")
        ),
    )
    for table in ("oauth_access_grants", "oauth_access_tokens"):
        for column in ("resource_owner_id", "application_id"):
            op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def downgrade() -> None:
    op.drop_table("oauth_access_tokens")
    op.drop_table("oauth_access_grants")
    op.drop_table("oauth_applications")
