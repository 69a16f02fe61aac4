"""What every app's Alembic ``env.py`` does: migrate on the given connection, or on the URL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def run_migrations(context: Any, target_metadata: sa.MetaData) -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as own_connection:
            _migrate(context, own_connection, target_metadata)
        engine.dispose()
    else:
        _migrate(context, connection, target_metadata)


def _migrate(context: Any, connection: sa.Connection, target_metadata: sa.MetaData) -> None:
    # Batch mode lets ALTER TABLE migrations run on SQLite as well as PostgreSQL.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
