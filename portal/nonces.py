"""The portal's nonce store: a nonce is accepted once, within its freshness window."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.models import SeenNonce, db


class DatabaseNonceStore:
    """``protocol.envelope.NonceStore`` over the ``seen_nonces`` table (shared by all workers)."""

    def claim(self, nonce: str, expires_at: dt.datetime) -> bool:
        if db.session.get(SeenNonce, nonce) is not None:
            return False
        try:
            # A savepoint: a concurrent claim of the same nonce loses without undoing our request.
            with db.session.begin_nested():
                db.session.add(SeenNonce(nonce=nonce, expires_at=expires_at))
        except IntegrityError:
            return False
        return True


def prune_expired_nonces(now: dt.datetime) -> int:
    result = db.session.execute(sa.delete(SeenNonce).where(SeenNonce.expires_at < now))
    return int(result.rowcount or 0)
