"""Sign-in lockout as GitLab's (Devise ``lockable``): 10 failed attempts lock for 10 minutes.

GitLab self-managed locks a user after ``max_login_attempts`` (10) failed sign-ins; the lock
lifts by itself after ``failed_login_attempts_unlock_period_in_minutes`` (10), and a successful
sign-in resets the count. While locked, even the right password is refused with Devise's
``locked`` message, "Your account is locked.", and each attempt still counts.

Unlike Devise, the count is kept per *sign-in subject* in a table of its own rather than on the
user: a known account is one subject whichever login names it; an unknown login is a subject of
its own (a digest of the lower-cased login, so nothing typed into the login field is stored).
Unknown logins therefore lock exactly like accounts do, and the answers never tell whether an
account exists. Times come from the app's clock, so a lock lifts on simulated time too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from webcore.clock import app_clock
from webcore.counters import increment

MAXIMUM_ATTEMPTS = 10
UNLOCK_IN = dt.timedelta(minutes=10)
LOCKED_MESSAGE = "Your account is locked."


class SignInLockoutMixin:
    """Columns of an app's ``sign_in_lockouts`` table; each app maps it on its own base."""

    __tablename__ = "sign_in_lockouts"

    subject: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[dt.datetime | None]


def subject_for(user: Any | None, login: str) -> str:
    if user is not None:
        return f"account:{user.id}"
    digest = hashlib.sha256(login.strip().lower().encode("utf-8", "replace")).hexdigest()
    return f"login:{digest}"


@dataclass(frozen=True)
class Lockouts:
    """The lockout table of one app, bound at ``init_auth``."""

    model: type[Any]

    @staticmethod
    def of_app() -> Lockouts:
        return current_app.extensions["auth.lockouts"]  # type: ignore[no-any-return]

    @property
    def _session(self) -> Any:
        return current_app.extensions["sqlalchemy"].session

    def is_locked(self, subject: str) -> bool:
        """Whether ``subject`` is locked now; a lock older than ``UNLOCK_IN`` is lifted (and the
        count reset) first, as Devise's ``unlock_access! if lock_expired?``."""
        row = self._session.get(self.model, subject)
        if row is None or row.locked_at is None:
            return False
        if row.locked_at + UNLOCK_IN <= app_clock().now():
            self._session.delete(row)
            self._session.flush()
            return False
        return True

    def record_failure(self, subject: str) -> bool:
        """Count a failed attempt; lock on reaching ``MAXIMUM_ATTEMPTS``. Returns whether the
        subject is locked now."""
        table = self.model.__table__
        now = app_clock().now()
        # Locks that have run out would be lifted on their next attempt anyway; dropping them
        # here keeps sprayed unknown logins from piling up once their locks end.
        self._session.execute(sa.delete(table).where(table.c.locked_at <= now - UNLOCK_IN))
        count = increment(self._session, table, {"subject": subject}, "failed_attempts")
        if count < MAXIMUM_ATTEMPTS:
            return False
        self._session.execute(
            sa.update(table)
            .where(table.c.subject == subject, table.c.locked_at.is_(None))
            .values(locked_at=now)
        )
        return True

    def reset(self, subject: str) -> None:
        """A successful sign-in: the count starts again (Devise's ``failed_attempts = 0``)."""
        table = self.model.__table__
        self._session.execute(sa.delete(table).where(table.c.subject == subject))
