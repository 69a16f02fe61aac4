"""Calls to another party never hold a database transaction.

On SQLite every transaction takes the database write lock when it begins (see ``webcore.db``), so
a transaction held across a slow HTTP call stops every page and API of the app until the call
returns; on PostgreSQL it holds row locks and a pooled connection for as long. Work that calls
out therefore runs in three steps:

1. prepare in a short transaction (read what the call needs, record what is true whatever the
   answer, e.g. an observation of today's count);
2. call with no transaction open: ``with outside_transaction(db.session): answer = call()``;
3. install the answer in a new short transaction that first locks and re-checks what the call
   relied on, since another request or worker may have changed it meanwhile.

``outside_transaction`` is the one sanctioned commit in the middle of a request or a job run: it
commits step 1 (so step 1 must hold nothing that only the answer would justify) and releases the
session's connection to the pool. In a job handler it is safe too: the job runner's claim is a
lease on the job row (``webcore.jobs``), not a lock held by the handler's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.orm import Session, scoped_session

# Flask-SQLAlchemy's ``db.session`` is a scoped session of its own Session subclass, and
# ``scoped_session`` is invariant in its session type: any Session subclass is accepted.
_S = TypeVar("_S", bound=Session)


@contextmanager
def outside_transaction(session: Session | scoped_session[_S]) -> Iterator[None]:
    """Commit the work prepared so far, then run the block with no transaction open; the next
    statement after the block begins a fresh transaction."""
    session.commit()  # also returns the session's connection to the pool
    yield
