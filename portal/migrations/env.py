"""Alembic environment of the portal: the target metadata is the portal's models."""

from alembic import context

from portal.models import db
from webcore.migrations_env import run_migrations

run_migrations(context, db.metadata)
