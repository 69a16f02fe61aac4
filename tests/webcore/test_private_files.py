"""Databases, logs and keys under var/ are readable by their owner only, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from webcore.private_files import open_private_log


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common default umask (files 0644, folders 0755), so a private mode must be chosen."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.parametrize("app_name", ["portal", "instance"])
def test_a_new_sqlite_database_its_wal_and_shm_and_the_app_folder_are_private(
    app_name: str, tmp_path: Path, open_umask: None
) -> None:
    import importlib

    create_app = importlib.import_module(app_name).create_app
    prepare = importlib.import_module(f"{app_name}.setup").prepare
    folder = tmp_path / "var" / app_name
    app = create_app(
        {
            "INSTANCE_PATH": str(folder),
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        },
        environ={},
    )
    prepare(app)  # migrations: the database file, and in WAL mode its -wal and -shm
    db: Any = app.extensions["sqlalchemy"]
    with app.app_context():
        connection = db.engine.connect()  # keep one open so -wal and -shm stay on disk
        try:
            database = folder / f"{app_name}.db"
            files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
            assert all(f.exists() for f in files), sorted(p.name for p in folder.iterdir())
            for path in files:
                assert _mode(path) == 0o600, path
        finally:
            connection.close()
            db.engine.dispose()
    assert _mode(folder) == 0o700 and _mode(folder.parent) == 0o700
    for path in folder.rglob("*"):
        assert _mode(path) & 0o077 == 0, path


def test_a_database_file_left_readable_by_others_is_restricted_on_next_start(
    tmp_path: Path, open_umask: None
) -> None:
    from portal import create_app
    from portal.setup import prepare

    folder = tmp_path / "portal"
    folder.mkdir()
    database = folder / "portal.db"
    database.touch(mode=0o644)
    app = create_app({"INSTANCE_PATH": str(folder), "TESTING": True}, environ={})
    prepare(app)
    assert _mode(database) == 0o600
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()


def test_server_logs_are_created_private_and_an_old_readable_log_is_restricted(
    tmp_path: Path, open_umask: None
) -> None:
    fresh = tmp_path / "var" / "logs" / "portal.log"
    with open_private_log(fresh) as handle:
        handle.write(b"line\n")
    assert _mode(fresh) == 0o600 and _mode(fresh.parent) == 0o700

    old = tmp_path / "old.log"
    old.write_bytes(b"earlier\n")
    old.chmod(0o644)
    with open_private_log(old) as handle:
        handle.write(b"appended\n")
    assert _mode(old) == 0o600
    assert old.read_bytes() == b"earlier\nappended\n"  # appended, never truncated


_READ_ROWS = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1])\n"
    "print(c.execute('select count(*) from t').fetchone()[0])\n"
    "c.close()\n"
)


def _rows_seen_by_another_process(database: Path) -> int:
    """What a separate process reads (and, closing, what it does to the -wal file it then
    believes it alone has open)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _READ_ROWS, str(database)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return int(out.stdout)


def test_a_new_connection_keeps_the_processs_sqlite_locks_so_its_commits_stay_visible(
    tmp_path: Path,
) -> None:
    """Opening a second connection (a server thread's) must not drop the locks the first holds:
    if it did, another process closing its connection would delete the -wal file the first still
    writes to, and that process's commits would vanish for everyone else."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from webcore.db import _configure_sqlite, sqlite_url_for

    database = tmp_path / "app.db"
    engine = sa.create_engine(sqlite_url_for(database), poolclass=NullPool)
    _configure_sqlite(engine)
    first = engine.connect()
    try:
        with first.begin():
            first.exec_driver_sql("create table t (n integer)")
            first.exec_driver_sql("insert into t values (1)")
        second = engine.connect()  # a new connection of the same process, as a new thread's
        second.close()
        assert _rows_seen_by_another_process(database) == 1
        with first.begin():
            first.exec_driver_sql("insert into t values (2)")
        assert _rows_seen_by_another_process(database) == 2
    finally:
        first.close()
        engine.dispose()
