"""Per-client throttles shaped like GitLab's Rack::Attack ones, counted in the database.

Rack::Attack counts in fixed windows (``period``): a client (the discriminator, here its remote
address) over ``limit`` in the current window is answered ``429`` with the plain text
"Retry later" and a ``Retry-After`` of the seconds left in the window, plus GitLab's
``RateLimit-*`` headers. GitLab keeps the counts in Redis; here they live in the app's database,
so every worker process sees the same counts, and the window comes from the app's clock, so
simulated time moves it.

Unlike a request throttle, the caller decides *what* counts (``record``): the activation endpoint
counts only refused guesses, so a client that activates correctly is never slowed down.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app
from sqlalchemy.orm import Mapped, mapped_column

from webcore.counters import increment

RETRY_LATER = "Retry later\n"  # Gitlab::Throttle.rate_limiting_response_text's default


class ThrottleCounterMixin:
    """Columns of an app's ``throttle_counters`` table; each app maps it on its own base."""

    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)  # name:client:window
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class Window:
    key: str
    resets_at: dt.datetime


@dataclass(frozen=True)
class Throttle:
    name: str
    limit: int
    period: dt.timedelta
    model: type[Any]

    @property
    def _session(self) -> Any:
        return current_app.extensions["sqlalchemy"].session

    def window(self, client: str, now: dt.datetime) -> Window:
        seconds = int(self.period.total_seconds())
        index = int(now.timestamp()) // seconds
        resets_at = dt.datetime.fromtimestamp((index + 1) * seconds, tz=dt.UTC)
        return Window(f"{self.name}:{client[:100]}:{index}", resets_at)

    def observed(self, client: str, now: dt.datetime) -> int:
        row = self._session.get(self.model, self.window(client, now).key)
        return 0 if row is None else int(row.count)

    def refusal(self, client: str, now: dt.datetime) -> Response | None:
        """The 429 answer if ``client`` has used up this window, else None."""
        observed = self.observed(client, now)
        if observed < self.limit:
            return None
        resets_at = self.window(client, now).resets_at
        retry_after = max(1, int((resets_at - now).total_seconds()))
        response = Response(RETRY_LATER, status=429, mimetype="text/plain")
        response.headers.update(
            {
                "Retry-After": str(retry_after),
                "RateLimit-Name": self.name,
                "RateLimit-Limit": str(self.limit),
                "RateLimit-Observed": str(observed),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(int(resets_at.timestamp())),
            }
        )
        return response

    def record(self, client: str, now: dt.datetime) -> int:
        """Count one for ``client`` in the current window; drops windows that have ended."""
        window = self.window(client, now)
        table = self.model.__table__
        self._session.execute(sa.delete(table).where(table.c.expires_at <= now))
        return increment(
            self._session, table, {"key": window.key}, "count", expires_at=window.resets_at
        )
