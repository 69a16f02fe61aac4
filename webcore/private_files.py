"""Files under ``var/`` readable by their owner only: databases, logs, keys, the state file.

A SQLite database holds password hashes, activation codes and licenses; a server log holds
request paths and user ids. Each is created with mode 0600 (folders 0700) by opening it with that
mode, not by changing the process umask, which would also apply to files the user asked for
(``--output``). SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file, so a
private database file is enough for all three. A file an older version left readable by others is
restricted when it is next opened.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_private_folder(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700; existing folders are left alone
    (the user's own ``var`` or home folder is theirs to set)."""
    missing: list[Path] = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_FOLDER_MODE)
        except FileExistsError:
            pass  # another worker starting beside us made it


def restrict(path: Path) -> None:
    """Mode 0600 on ``path`` if it exists and others may read it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        log.warning("%s is readable by others (mode %o); restricting to 0600", path, mode)
        path.chmod(PRIVATE_FILE_MODE)


def ensure_private_file(path: Path) -> None:
    """``path`` exists with mode 0600 (created empty if missing, never truncated)."""
    make_private_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(fd)
    restrict(path)


def copy_private_file(source: Path, target: Path) -> None:
    """``target`` a copy of ``source``, mode 0600 (created so, or restricted before writing)."""
    ensure_private_file(target)
    shutil.copyfile(source, target)


def ensure_private_sqlite_file(path: Path) -> None:
    """Before SQLite opens ``path``: the database file (and any companion) private.

    A missing folder is left missing: SQLite then fails to open the database, which the health
    check reports, instead of a mistyped path quietly getting a new empty database.

    An existing database file is never opened here, only its mode changed: this runs before each
    new connection, while the process's other connections hold SQLite's POSIX locks on the file,
    and closing any descriptor of a file drops all of a process's locks on it. Another process
    closing its own connection then took itself for the last one and deleted the ``-wal`` file
    under this process's feet: its later commits went to an unlinked file no other process could
    read (a sync answered 200 that `provlab portal show` could not see), the database corruption
    SQLite's "How To Corrupt" page describes in 2.2.1.
    """
    if not path.parent.is_dir():
        return
    if path.exists():
        restrict(path)
    else:
        ensure_private_file(path)  # no connection of ours can hold a lock on a missing file
    for suffix in SQLITE_COMPANIONS:
        restrict(path.with_name(path.name + suffix))


def open_private_log(path: Path) -> BinaryIO:
    """``path`` opened for appending, created 0600 (an existing log is restricted)."""
    make_private_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    restrict(path)
    return os.fdopen(fd, "ab")
