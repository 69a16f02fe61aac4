"""Test databases: one template per app and backend, migrated once; a fresh copy per test."""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import threading
import uuid
from pathlib import Path

import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get(
    "PROVLAB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


class Pool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.run_id = uuid.uuid4().hex[:8]
        self._templates: dict[tuple[str, str], str] = {}
        self._created: list[str] = []
        self._numbers = itertools.count()
        self._postgres_ok: bool | None = None
        self._admin: sa.Engine | None = None
        # Databases a test is done with, dropped by a thread while the next tests run: a DROP
        # waits on PostgreSQL's checkpoint (seconds on a busy disk), which the session's end
        # would otherwise pay for every database at once.
        self._to_drop: queue.Queue[str | None] = queue.Queue()
        self._dropper: threading.Thread | None = None

    # -- PostgreSQL administration ---------------------------------------------------------------

    def postgres_available(self) -> bool:
        if self._postgres_ok is None:
            try:
                with self.admin().connect() as connection:
                    connection.execute(sa.text("SELECT 1"))
                self._postgres_ok = True
            except sa.exc.OperationalError:
                self._postgres_ok = False
        return self._postgres_ok

    def admin(self) -> sa.Engine:
        if self._admin is None:
            self._admin = sa.create_engine(
                POSTGRES_ADMIN_URL,
                isolation_level="AUTOCOMMIT",
                connect_args={"connect_timeout": 3},
            )
        return self._admin

    def _postgres_url(self, name: str) -> str:
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    # -- databases ---------------------------------------------------------------------------------

    def new_database(self, app_name: str, backend: str) -> str:
        template = self._template(app_name, backend)
        number = next(self._numbers)
        if backend == "sqlite":
            path = self.folder / f"{app_name}-{number}.db"
            shutil.copyfile(template, path)
            return f"sqlite:///{path}"
        return self._create(f"provlab_t{self.run_id}_{app_name}_{number}", f'TEMPLATE "{template}"')

    def empty_database(self, app_name: str, backend: str) -> str:
        """A database with no tables at all (for migration tests); dropped at the session's end."""
        number = next(self._numbers)
        if backend == "sqlite":
            return f"sqlite:///{self.folder / f'empty-{app_name}-{number}.db'}"
        return self._create(f"provlab_t{self.run_id}_{app_name}_empty_{number}")

    def _create(self, name: str, template: str = "") -> str:
        """Create the PostgreSQL database ``name`` (from ``template``: ``TEMPLATE "..."``), to
        be dropped at the session's end."""
        with self.admin().connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}" {template}'.rstrip()))
        self._created.append(name)
        return self._postgres_url(name)

    def _template(self, app_name: str, backend: str) -> str:
        key = (app_name, backend)
        if key not in self._templates:
            self._templates[key] = self._build_template(app_name, backend)
        return self._templates[key]

    def _build_template(self, app_name: str, backend: str) -> str:
        if backend == "sqlite":
            path = self.folder / f"template-{app_name}.db"
            url = f"sqlite:///{path}"
            self._migrate(app_name, url)
            return str(path)
        name = f"provlab_t{self.run_id}_{app_name}_template"
        with self.admin().connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        self._migrate(app_name, self._postgres_url(name))
        return name

    def _migrate(self, app_name: str, url: str) -> None:
        from webcore.db import upgrade_to_head

        if app_name == "portal":
            from portal import MIGRATIONS, create_app
            from portal.models import db
        else:
            from instance import MIGRATIONS, create_app  # type: ignore[assignment]
            from instance.models import db  # type: ignore[assignment]
        app = create_app(
            {"DATABASE_URL": url, "INSTANCE_PATH": str(self.folder / f"{app_name}-template")},
            environ={},
        )
        upgrade_to_head(app, db, MIGRATIONS)
        with app.app_context():
            db.engine.dispose()  # closes the last connection, folding SQLite's WAL into the file

    def release(self, url: str) -> None:
        """The test using ``url`` is over: drop its PostgreSQL database in the background."""
        if not url.startswith("postgresql"):
            return  # a SQLite file goes with the session's temporary folder
        name = url.rsplit("/", 1)[1]
        if self._dropper is None:
            self._dropper = threading.Thread(target=self._drop_released, daemon=True)
            self._dropper.start()
        self._to_drop.put(name)

    def _drop_released(self) -> None:
        with self.admin().connect() as connection:
            while (name := self._to_drop.get()) is not None:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self._admin is None:
            return
        if self._dropper is not None:
            self._to_drop.put(None)
            self._dropper.join()
        with self._admin.connect() as connection:
            for name in reversed(self._created):  # IF EXISTS: the released are gone already
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()
