"""The instance's scheduled jobs. Each takes ids and returns its next run time (or None)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from instance.add_ons import clean_up_seats
from instance.billable_history import billable_users_recorded, record_billable_users
from instance.gitlab_com import is_gitlab_com, memberships
from instance.gitlab_com.nonces import received_nonces
from instance.identity import identity, next_sync_slot
from instance.licenses import current_license
from instance.portal_client import CONNECTIVITY
from instance.sync import SyncFailed, activate, record_failure, report_basis, run_scheduled_sync
from webcore.job_declarations import JobContext, JobRegistry, RetryPolicy

log = logging.getLogger(__name__)

registry = JobRegistry()

# The real product tries a failed sync about 12 times over about 17 hours: here 12 tries, the
# retries 1, 2, 4 ... 128 minutes apart, then every 4 hours: 16 h 15 min from first to last.
SYNC_RETRY = RetryPolicy(
    max_attempts=12, base=dt.timedelta(minutes=1), factor=2.0, cap=dt.timedelta(hours=4)
)


@registry.job("daily_sync", retry=SYNC_RETRY)
def daily_sync(context: JobContext, args: dict[str, Any]) -> dt.datetime:
    """Send the daily Seat Link report to the portal at the instance's fixed slot (R13)."""
    # Read once: the report names the instance and its license, the next slot is its minute.
    basis = report_basis()
    run_scheduled_sync(context, basis)
    return next_sync_slot(basis.sync_minute, context.now)


CLEAN_UP_EVERY = dt.timedelta(hours=12)


@registry.job("seat_cleanup")
def seat_cleanup(context: JobContext, args: dict[str, Any]) -> dt.datetime:
    """Twice a day: free seats of blocked, banned and deactivated users (R29), drop assignments
    of an add-on expired 28 days ago; on self-managed also record the billable user count and
    re-plan a daily sync whose retries ran out (GitLab.com has neither: it counts billable
    members per group as they change, and is provisioned by the portal's pushes)."""
    result = clean_up_seats(context.now)
    if result.removed_inactive:
        log.info("seat clean-up freed %d seats", len(result.removed_inactive))
    if is_gitlab_com(context.app):
        return context.now + CLEAN_UP_EVERY
    if not billable_users_recorded(context.now.date()):
        record_billable_users(context.now)  # once a day; a sync that day updates the maximum
    scheduler = context.app.extensions["jobs"]
    if scheduler.scheduled_at("daily_sync") is None:  # its retries ran out (parked), or gone
        scheduler.schedule("daily_sync", next_sync_slot(identity().sync_minute, context.now))
    return context.now + CLEAN_UP_EVERY


INSTALL_ACTIVATION_RETRY = RetryPolicy(
    max_attempts=10, base=dt.timedelta(seconds=30), factor=2.0, cap=dt.timedelta(minutes=30)
)


@registry.job("install_activation", retry=INSTALL_ACTIVATION_RETRY)
def install_activation(context: JobContext, args: dict[str, Any]) -> None:
    """Retry install-time activation (GITLAB_ACTIVATION_CODE) while the portal is unreachable,
    e.g. when both start together; any other refusal is shown to the admin and not retried."""
    if current_license() is not None:
        return None
    try:
        activate(context.app, str(args.get("code", "")), context.now)
    except SyncFailed as exc:
        if exc.code == CONNECTIVITY:
            raise RuntimeError(exc.message) from None
        record_failure(context.now, exc)
    return None


# GitLab.com: the nonces of the portal's pushes.
registry.job("prune_received_nonces")(received_nonces.prune_nightly)


@registry.job("remove_expired_members")
def remove_expired_members(context: JobContext, args: dict[str, Any]) -> dt.datetime:
    """GitLab.com, daily: memberships whose expiry day has begun end, and with them the group
    add-on seats of users no longer billable there (R2, R31)."""
    ended = memberships.remove_expired_members(context.now)
    if ended:
        log.info("%d expired memberships removed", ended)
    return memberships.next_expired_members_run(context.now)
