"""A table of the signed requests' nonces an app has accepted, each once within its freshness
window: ``protocol.envelope.NonceStore`` for the portal's ``seen_nonces`` (instances' syncs,
GitLab.com's trial requests) and GitLab.com's ``received_nonces`` (the portal's pushes).

One statement claims a nonce, the same on PostgreSQL and SQLite (>= 3.35): of two concurrent
claims of the same nonce exactly one inserts (PostgreSQL waits for the other's transaction to
end; on SQLite the write lock orders them), and RETURNING says which (rowcount is not reliable
across drivers). Text, not the dialects' ``on_conflict_do_nothing`` constructs: those are not
cached, so every signed request would compile its statement again. The result column is
declared so SQLAlchemy keeps the result's description with the cached statement: an undeclared
textual result is described again on every execution, which cost a sync as much as the
statement itself. Both statements are built once per table, as they run on every request and
every night.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy

from webcore.job_declarations import JobContext


class NonceTable:
    """The nonces of one table (columns ``nonce`` and ``expires_at``) of one app's database."""

    def __init__(self, table: sa.Table, db: SQLAlchemy) -> None:
        self._db = db
        self._claim = (
            sa.text(
                f"INSERT INTO {table.name} (nonce, expires_at) VALUES (:nonce, :expires_at) "
                "ON CONFLICT (nonce) DO NOTHING RETURNING nonce"
            )
            .bindparams(
                sa.bindparam("nonce", type_=table.c.nonce.type),
                sa.bindparam("expires_at", type_=table.c.expires_at.type),
            )
            .columns(table.c.nonce)
        )
        self._prune = sa.delete(table).where(
            table.c.expires_at < sa.bindparam("now", type_=table.c.expires_at.type)
        )

    def claim(self, nonce: str, expires_at: dt.datetime) -> bool:
        """Whether ``nonce`` was new (and is now taken until ``expires_at``)."""
        params = {"nonce": nonce, "expires_at": expires_at}
        return self._db.session.connection().execute(self._claim, params).first() is not None

    def prune(self, now: dt.datetime) -> int:
        """Forget the nonces whose window has passed; how many went."""
        # On the session's connection, as ``claim``: no entity maps the table, so the ORM's bulk
        # delete (which would match the session's entities against it) has nothing to do.
        result = self._db.session.connection().execute(self._prune, {"now": now})
        return int(result.rowcount or 0)

    def prune_nightly(self, context: JobContext, args: dict[str, Any]) -> dt.datetime:
        """Forget request nonces whose freshness window has passed (a job: daily, at midnight
        UTC)."""
        self.prune(context.now)
        return next_midnight(context.now)


def next_midnight(now: dt.datetime) -> dt.datetime:
    """When a nightly job runs next: the coming midnight UTC."""
    return (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
