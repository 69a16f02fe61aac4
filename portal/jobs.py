"""The portal's scheduled jobs. Each takes ids and returns its next run time (or None)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from webcore.jobs import JobContext, JobRegistry

registry = JobRegistry()


def next_midnight(now: dt.datetime) -> dt.datetime:
    return (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


@registry.job("prune_nonces")
def prune_nonces(context: JobContext, args: dict[str, Any]) -> dt.datetime:
    """Forget request nonces whose freshness window has passed (daily, at midnight UTC)."""
    from portal.nonces import prune_expired_nonces

    prune_expired_nonces(context.now)
    return next_midnight(context.now)


# Periodic jobs every portal runs, and when each first runs after preparation.
PERIODIC_JOBS = {"prune_nonces": next_midnight}
