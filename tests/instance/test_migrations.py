"""The instance's migrations: one head, and the migrated schema matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from instance import MIGRATIONS
from instance.models import db
from webcore.db import alembic_config

pytestmark = pytest.mark.all_backends


def test_instance_migrations_have_a_single_head(app: Flask) -> None:
    script = ScriptDirectory.from_config(alembic_config(MIGRATIONS, "sqlite://"))
    assert len(script.get_heads()) == 1


def test_instance_models_and_migrations_agree(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        assert compare_metadata(context, db.metadata) == []
