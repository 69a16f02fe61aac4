"""Database plumbing: shared column types, engine settings, Alembic upgrades.

Every datetime is stored and returned as timezone-aware UTC; a naive datetime is refused on write,
because a naive value would silently mean "local time of whichever machine wrote it".

SQLite runs with ``BEGIN IMMEDIATE`` transactions: a transaction takes the write lock when it
starts, so two requests that read then write (the last free seat, a job claim) serialise instead of
failing with "database is locked" halfway. PostgreSQL uses row locks (``FOR UPDATE``) for that.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, orm
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from webcore.private_files import copy_private_file, ensure_private_sqlite_file, make_private_folder


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        # SQLite stores text; keep it naive there so ordering comparisons stay lexical-correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


TYPE_ANNOTATION_MAP: dict[Any, Any] = {
    dt.datetime: UTCDateTime(),
    dict[str, Any]: sa.JSON(),
    list[Any]: sa.JSON(),
}

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


Row = TypeVar("Row")


class Database(SQLAlchemy):
    """Flask-SQLAlchemy with the two statements every operation of the apps writes: a row
    looked up by its key, and a new row inserted."""

    def find(self, model: type[Row], *criteria: Any, lock: bool = False) -> Row | None:
        """The one row of ``model`` that ``criteria`` select (a key: more than one is an
        error), or None; ``lock`` takes its row lock (``FOR UPDATE``) for a read-then-write."""
        statement = sa.select(model).where(*criteria)
        if lock:
            statement = statement.with_for_update()
        return self.session.execute(statement).scalar_one_or_none()

    def inserted(self, row: Row) -> Row:
        """``row``, added and flushed now: its id is set, and a duplicate key or a broken
        constraint fails here, inside the caller's transaction, before any side effect."""
        self.session.add(row)
        self.session.flush()
        return row


def new_database() -> Database:
    """One app's Flask-SQLAlchemy extension over a declarative base of its own (the app's own
    tables), with the shared column types and constraint names."""

    class Base(orm.DeclarativeBase):
        registry = orm.registry(
            metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
            type_annotation_map=TYPE_ANNOTATION_MAP,
        )

    return Database(model_class=Base)


def sqlite_url_for(path: Path) -> str:
    return f"sqlite:///{path}"


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # A generous busy timeout: BEGIN IMMEDIATE waits for the writer ahead instead of failing.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True}


def _sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _configure_sqlite(engine: Engine) -> None:
    database_file = _sqlite_file(engine)

    @event.listens_for(engine, "do_connect")
    def _before_connect(*_args: Any) -> None:
        # SQLite would create a missing file with the umask's mode (often world-readable), and
        # gives its -wal and -shm files the database file's mode: create it private first.
        if database_file is not None:
            ensure_private_sqlite_file(database_file)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL is still corruption-safe; it skips an fsync per commit, which is
        # most of the cost of a job run on simulated time.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def read_columns(
    session: orm.Session | orm.scoped_session[Any], statement: Any, params: Any = None
) -> sa.CursorResult[Any]:
    """Run ``statement`` (columns or an aggregate, never entities, or a write to a table no
    entity of this session holds) on the session's connection, after the flush that
    ``Session.execute`` would autoflush: the same answer without the ORM's per-statement cost,
    which is most of a small query's (hot paths: each job run, each sync)."""
    session.flush()
    return session.connection().execute(statement, params)


def insert_ids(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` (integer primary key ``id``) in one executemany; the new
    rows' ids, in the order of ``rows``: for bulk writes whose rows must be referred to.

    PostgreSQL: the ids are taken from the table's sequence first (one statement), then the
    rows inserted with them: ``INSERT … RETURNING`` ordered by parameter makes SQLAlchemy sort
    each batch on a sentinel column, which cost the 10,000-subscription seat review half its
    time. SQLite returns the rows of ``RETURNING`` in no set order, so SQLAlchemy would insert
    one row per statement to order them; there the transaction holds the write lock from its
    start (``BEGIN IMMEDIATE``), and each row inserted takes an id above every one before it,
    so the ids are those above the largest before the insert, in order.
    """
    if not rows:
        return []
    key = table.c.id
    if connection.dialect.name == "postgresql":
        ids = list(
            connection.execute(
                sa.select(
                    sa.func.nextval(sa.func.pg_get_serial_sequence(table.name, "id"))
                ).select_from(sa.func.generate_series(1, len(rows)))
            ).scalars()
        )
        connection.execute(
            sa.insert(table), [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)]
        )
        return ids
    if connection.dialect.name != "sqlite":
        inserted = connection.execute(
            sa.insert(table).returning(key, sort_by_parameter_order=True), rows
        )
        return list(inserted.scalars())
    before = connection.execute(sa.select(sa.func.coalesce(sa.func.max(key), 0))).scalar_one()
    connection.execute(sa.insert(table), rows)
    ids = list(connection.execute(sa.select(key).where(key > before).order_by(key)).scalars())
    if len(ids) != len(rows):
        raise RuntimeError(f"{table.name}: inserted {len(rows)} rows, found {len(ids)}")
    return ids


def _plain_savepoints(engine: Engine) -> None:
    """Savepoints as plain SQL. SQLAlchemy's dialect compiles a new savepoint clause for each
    ``SAVEPOINT`` and ``RELEASE`` (those clauses have no cache key); every job run takes one
    (its handler's), so that compilation was a visible part of an idle job's cost (issue 15)."""
    dialect = engine.dialect
    quote = dialect.identifier_preparer.quote

    def do_savepoint(connection: Any, name: str) -> None:
        connection.exec_driver_sql(f"SAVEPOINT {quote(name)}")

    def do_release_savepoint(connection: Any, name: str) -> None:
        connection.exec_driver_sql(f"RELEASE SAVEPOINT {quote(name)}")

    def do_rollback_to_savepoint(connection: Any, name: str) -> None:
        connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {quote(name)}")

    # On this engine's dialect object only (each engine has its own).
    dialect.do_savepoint = do_savepoint  # type: ignore[method-assign]
    dialect.do_release_savepoint = do_release_savepoint  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = do_rollback_to_savepoint  # type: ignore[method-assign]


def init_db(app: Flask, db: SQLAlchemy) -> None:
    """Bind ``db`` to ``app`` and apply backend-specific engine settings."""
    db.init_app(app)
    with app.app_context():
        _plain_savepoints(db.engine)
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)


def ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        make_private_folder(Path(url.removeprefix("sqlite:///")).parent)


def alembic_config(script_location: str, url: str) -> AlembicConfig:
    """An Alembic configuration for one app's migrations (``package:folder``)."""
    config = AlembicConfig()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(app: Flask, db: SQLAlchemy, script_location: str) -> None:
    """Build or update the app's database by running its migrations.

    A new SQLite database is a copy of one this process migrated already (the same migrations
    give the same file): a scenario run builds two or three apps, and running every migration
    for each cost about a fifth of a short scenario."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    ensure_sqlite_folder(url)
    database = _new_sqlite_file(url)
    if database is not None:
        with app.app_context():
            db.engine.dispose()  # no connection of ours may hold the file while it is replaced
        copy_private_file(_migrated_template(script_location), database)
        return
    with app.app_context(), db.engine.begin() as connection:
        _upgrade(connection, script_location, url)


def _upgrade(connection: sa.Connection, script_location: str, url: str) -> None:
    config = alembic_config(script_location, url)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _new_sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL that has no database yet (missing or empty)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:" or "?" in url:
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return path if not path.exists() or path.stat().st_size == 0 else None


# script location -> a SQLite database this process migrated to head, copied for new ones.
_TEMPLATES: dict[str, Path] = {}


def _migrated_template(script_location: str) -> Path:
    template = _TEMPLATES.get(script_location)
    if template is not None and template.exists():
        return template
    folder = Path(tempfile.mkdtemp(prefix="provlab-migrated-"))
    atexit.register(shutil.rmtree, folder, True)
    template = folder / "template.db"
    url = sqlite_url_for(template)
    engine = sa.create_engine(url)
    _configure_sqlite(engine)  # as the apps' engines: foreign keys on, WAL, BEGIN IMMEDIATE
    try:
        with engine.begin() as connection:
            _upgrade(connection, script_location, url)
    finally:
        engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
    _TEMPLATES[script_location] = template
    return template
