"""Alembic discipline for both apps: one head, migrations that match the models, a clean round trip.

Each test starts from an empty database (no tables at all) on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.support import databases
from webcore.db import alembic_config

APPS = ("portal", "instance")


def _app_parts(app_name: str) -> tuple[str, sa.MetaData]:
    if app_name == "portal":
        from portal import MIGRATIONS
        from portal.models import db
    else:
        from instance import MIGRATIONS  # type: ignore[assignment]
        from instance.models import db  # type: ignore[assignment]
    return MIGRATIONS, db.metadata


def _differences(url: str, metadata: sa.MetaData) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("app_name", APPS)
def test_each_app_has_a_single_alembic_head(app_name: str) -> None:
    location, _ = _app_parts(app_name)
    script = ScriptDirectory.from_config(alembic_config(location, "sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()


@pytest.mark.parametrize("app_name", APPS)
def test_upgrade_to_head_on_an_empty_database_matches_the_models(
    app_name: str, db_backend: str, database_pool: databases.Pool
) -> None:
    location, metadata = _app_parts(app_name)
    url = database_pool.empty_database(app_name, db_backend)
    assert _tables(url) == set()

    command.upgrade(alembic_config(location, url), "head")

    assert set(metadata.tables) <= _tables(url)
    assert _differences(url, metadata) == []


@pytest.mark.parametrize("app_name", APPS)
def test_downgrade_to_base_then_upgrade_again_works(
    app_name: str, db_backend: str, database_pool: databases.Pool
) -> None:
    location, metadata = _app_parts(app_name)
    url = database_pool.empty_database(app_name, db_backend)
    config = alembic_config(location, url)

    command.upgrade(config, "head")
    command.downgrade(config, "base")
    assert _tables(url) <= {"alembic_version"}

    command.upgrade(config, "head")
    assert set(metadata.tables) <= _tables(url)
    assert _differences(url, metadata) == []


@pytest.mark.parametrize("app_name", APPS)
def test_a_new_sqlite_database_is_the_migrated_template_copied_and_matches_the_models(
    app_name: str, tmp_path: Any
) -> None:
    """``upgrade_to_head`` migrates a new SQLite database once per process and copies the result
    for the next ones: each copy is at head, matches the models, keeps the migrations' triggers,
    and is private (0600)."""
    import importlib
    import stat

    from webcore import db as webcore_db

    create_app = importlib.import_module(app_name).create_app
    prepare = importlib.import_module(f"{app_name}.setup").prepare
    location, metadata = _app_parts(app_name)
    head = ScriptDirectory.from_config(alembic_config(location, "sqlite://")).get_current_head()
    files = []
    for number in (1, 2):
        folder = tmp_path / f"{app_name}-{number}"
        app = create_app(
            {
                "INSTANCE_PATH": str(folder),
                "TESTING": True,
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            },
            environ={},
        )
        prepare(app)
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()
        files.append(folder / f"{app_name}.db")
    assert location in webcore_db._TEMPLATES  # the first migrated it, the second copied
    triggers = []
    for database in files:
        url = f"sqlite:///{database}"
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
        assert _differences(url, metadata) == []
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                assert (
                    connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                    == head
                )
                triggers.append(
                    set(
                        connection.execute(
                            sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                        ).scalars()
                    )
                )
        finally:
            engine.dispose()
    assert triggers[0] == triggers[1]
    if app_name == "portal":
        assert "usage_reports_daily_usage_counts" in triggers[0]
