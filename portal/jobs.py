"""The portal's scheduled jobs. Each takes ids and returns its next run time (or None)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app

from portal.billing.jobs import run_renewals, run_seat_reviews
from portal.leads import next_lead_processing, process_due_leads
from portal.mail import deliver
from portal.nonces import seen_nonces
from webcore.job_declarations import JobContext, JobRegistry, RetryPolicy
from webcore.nonces import next_midnight

registry = JobRegistry()


registry.job("prune_nonces")(seen_nonces.prune_nightly)


@registry.job("process_leads")
def process_leads(context: JobContext, args: dict[str, Any]) -> dt.datetime:
    """Sales works through the trial requests the marketing system handed over (R21), daily."""
    process_due_leads(context.now)
    return next_lead_processing(context.now, context.app.config)


MAIL_RETRY = RetryPolicy(max_attempts=8, base=dt.timedelta(minutes=1), cap=dt.timedelta(hours=2))


@registry.job("deliver_mail", retry=MAIL_RETRY)
def deliver_mail(context: JobContext, args: dict[str, Any]) -> None:
    """Send one mail of the outbox (retried with backoff while the SMTP server fails)."""
    deliver(int(args["mail_id"]), last_attempt=context.attempt >= MAIL_RETRY.max_attempts)


@registry.job("seat_reviews")
def seat_reviews(context: JobContext, args: dict[str, Any]) -> dt.datetime:
    """The quarterly seat review of every subscription whose quarter ended (R34), daily."""
    run_seat_reviews(context.now)
    return next_midnight(context.now)


@registry.job("renewals")
def renewals(context: JobContext, args: dict[str, Any]) -> dt.datetime:
    """Renew, or end, every subscription whose term ended (R35, R36), daily at midnight UTC."""
    run_renewals(context.now)
    return next_midnight(context.now)


# A push to GitLab.com that did not get through is sent again: 12 tries, 1, 2, 4 ... minutes
# apart, then every 4 hours, as the instance retries its daily sync; then it waits for support.
PROVISION_RETRY = RetryPolicy(
    max_attempts=12, base=dt.timedelta(minutes=1), factor=2.0, cap=dt.timedelta(hours=4)
)


@registry.job("provision_namespace", retry=PROVISION_RETRY)
def provision_namespace(context: JobContext, args: dict[str, Any]) -> dt.datetime | None:
    """Push a GitLab.com subscription's state to its top-level group: at once on a change,
    then daily (its answer brings the group's seat usage back)."""
    from portal.gitlab_com.provisioning import push_namespace

    return push_namespace(context.app, int(args["subscription_id"]), context.now)


@registry.job("release_namespace", retry=PROVISION_RETRY)
def release_namespace(context: JobContext, args: dict[str, Any]) -> dt.datetime | None:
    """Push Free to a GitLab.com group a subscription was moved away from (*Change linked
    namespace*), unless another subscription was linked to it meanwhile."""
    from portal.gitlab_com.provisioning import push_release

    push_release(context.app, int(args["namespace_id"]), context.now)
    return None


def _first_lead_processing(now: dt.datetime) -> dt.datetime:
    return next_lead_processing(now, current_app.config)


# Periodic jobs every portal runs, and when each first runs after preparation.
PERIODIC_JOBS = {
    "prune_nonces": next_midnight,
    "process_leads": _first_lead_processing,
    "seat_reviews": next_midnight,
    "renewals": next_midnight,
}
