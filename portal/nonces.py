"""The portal's nonce store: a nonce is accepted once, within its freshness window."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import sqlalchemy as sa

from portal.models import SeenNonce, db

# One statement claims a nonce, the same on PostgreSQL and SQLite (>= 3.35): of two concurrent
# claims of the same nonce exactly one inserts (PostgreSQL waits for the other's transaction to
# end; on SQLite the write lock orders them), and RETURNING says which (rowcount is not reliable
# across drivers). Text, not the dialects' ``on_conflict_do_nothing`` constructs: those are not
# cached, so every signed request would compile its statement again. Its result column is
# declared (``columns``, by position) so SQLAlchemy keeps the result's metadata with the cached statement: an
# undeclared textual result is described again on every execution, which cost a sync as much
# as the statement itself.
_CLAIM = (
    sa.text(
        "INSERT INTO seen_nonces (nonce, expires_at) VALUES (:nonce, :expires_at) "
        "ON CONFLICT (nonce) DO NOTHING RETURNING nonce"
    )
    .bindparams(
        sa.bindparam("nonce", type_=SeenNonce.__table__.c.nonce.type),
        sa.bindparam("expires_at", type_=SeenNonce.__table__.c.expires_at.type),
    )
    .columns(SeenNonce.__table__.c.nonce)
)


class DatabaseNonceStore:
    """``protocol.envelope.NonceStore`` over the ``seen_nonces`` table (shared by all workers)."""

    def claim(self, nonce: str, expires_at: dt.datetime) -> bool:
        inserted = (
            db.session.connection()
            .execute(_CLAIM, {"nonce": nonce, "expires_at": expires_at})
            .first()
        )
        return inserted is not None


def prune_expired_nonces(now: dt.datetime) -> int:
    # A DELETE's result is a CursorResult (it has a rowcount); Session.execute is typed as
    # returning the general Result.
    result = cast("sa.CursorResult[Any]", db.session.execute(_PRUNE, {"now": now}))
    return int(result.rowcount or 0)


# Built once: it runs every day.
_PRUNE = sa.delete(SeenNonce).where(
    SeenNonce.expires_at < sa.bindparam("now", type_=SeenNonce.expires_at.type)
)
