"""GitLab.com's store of the portal's request nonces: each accepted once in its window."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from instance.models import db
from instance.namespace_models import ReceivedNonce

# One statement, the same on PostgreSQL and SQLite: of two concurrent claims one inserts.
_CLAIM = sa.text(
    "INSERT INTO received_nonces (nonce, expires_at) VALUES (:nonce, :expires_at) "
    "ON CONFLICT (nonce) DO NOTHING RETURNING nonce"
).bindparams(
    sa.bindparam("nonce", type_=ReceivedNonce.__table__.c.nonce.type),
    sa.bindparam("expires_at", type_=ReceivedNonce.__table__.c.expires_at.type),
)


class ReceivedNonceStore:
    """``protocol.envelope.NonceStore`` over the ``received_nonces`` table."""

    def claim(self, nonce: str, expires_at: dt.datetime) -> bool:
        params = {"nonce": nonce, "expires_at": expires_at}
        return db.session.connection().execute(_CLAIM, params).first() is not None


def prune_received_nonces(now: dt.datetime) -> None:
    db.session.execute(sa.delete(ReceivedNonce).where(ReceivedNonce.expires_at < now))


def next_midnight(now: dt.datetime) -> dt.datetime:
    return (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
