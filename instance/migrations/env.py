"""Alembic environment of the instance: the target metadata is the instance's models."""

from alembic import context

from instance.models import db
from webcore.migrations_env import run_migrations

run_migrations(context, db.metadata)
