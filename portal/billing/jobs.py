"""The billing jobs' bodies: the daily seat review (R34 each quarter, R35 each year of a term
longer than 12 months) and the renewals at the end of a term (R35, R36). ``portal.jobs`` schedules them; each subscription is billed in a savepoint, so
one that can't be billed is logged for support and the others go on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial

import sqlalchemy as sa

from portal.billing.policy.calendar import review_years, term_quarters
from portal.billing.policy.reviews import ReviewCycle
from portal.billing.renewals import renew_or_end
from portal.billing.reviews import (
    billed,
    review_cycle_in_effect,
    review_due_quarters,
    review_due_years,
)
from portal.billing.usage import current_term
from portal.errors import Refused
from portal.models import SeatReview, SeatReviewKind, Subscription, SubscriptionKind, db

log = logging.getLogger("provlab.portal.billing")


def run_seat_reviews(now: dt.datetime) -> int:
    """R34, R35: the daily seat review of every subscription with a quarter (quarterly terms)
    or a year (terms longer than 12 months) that has ended before its term.

    Most days nothing ends: the periods due are worked out from the dates alone, and only a
    subscription with a period due not yet reviewed is loaded further.
    """
    today = now.date()
    candidates = (
        db.session.execute(
            sa.select(Subscription).where(
                Subscription.kind == SubscriptionKind.PAID,
                Subscription.ends_on > today,
                Subscription.starts_on < today,
            )
        )
        .scalars()
        .all()
    )
    reviewed: dict[int, set[tuple[str, dt.date]]] = {}
    for subscription_id, kind, period_starts_on in db.session.execute(
        sa.select(SeatReview.subscription_id, SeatReview.kind, SeatReview.period_starts_on).where(
            SeatReview.period_ends_on > today - dt.timedelta(days=400),
        )
    ):
        reviewed.setdefault(subscription_id, set()).add((kind, period_starts_on))
    count = 0
    for subscription in candidates:
        due = _periods_due(subscription, today)
        if due - reviewed.get(subscription.id, set()):
            count += _isolated(
                subscription, "seat review", partial(_review_due_periods, subscription, now)
            )
    return count


def _periods_due(subscription: Subscription, today: dt.date) -> set[tuple[str, dt.date]]:
    # (kind, first day) of the periods ended by today that a daily review may hold: every
    # quarter but the term's last of a quarterly contract; every year but the last of a longer
    # term (reviewed annually when its cycle in effect is annual).
    known_since = subscription.created_at.date()
    term = current_term(subscription)
    due: set[tuple[str, dt.date]] = set()
    if subscription.review_cycle == ReviewCycle.QUARTERLY:
        due.update(
            (SeatReviewKind.QUARTERLY, q.starts_on)
            for q in term_quarters(term)[:-1]
            if known_since < q.ends_on <= today
        )
    due.update(
        (SeatReviewKind.ANNUAL, y.starts_on)
        for y in review_years(term)[:-1]
        if known_since < y.ends_on <= today
    )
    return due


def _review_due_periods(subscription: Subscription, now: dt.datetime) -> None:
    review_due_quarters(subscription, now)
    if len(review_years(current_term(subscription))) > 1 and (
        review_cycle_in_effect(subscription) is ReviewCycle.ANNUAL
    ):
        review_due_years(subscription, now)


def _isolated(subscription: Subscription, what: str, work: Callable[[], object]) -> bool:
    """Run one subscription's billing in a savepoint: a subscription that can't be billed (a
    plan missing from PRICE_LIST, bad data) is logged for support and the others go on."""
    try:
        with db.session.begin_nested():
            work()
    except (ValueError, Refused) as exc:
        log.error("%s of %s failed: %s", what, subscription.name, exc)
        return False
    return True


def run_renewals(now: dt.datetime) -> int:
    """R35, R36: renew or end every subscription whose term ended by today."""
    today = now.date()
    due = (
        db.session.execute(
            sa.select(Subscription)
            .where(
                Subscription.kind == SubscriptionKind.PAID,
                Subscription.ends_on <= today,
                Subscription.ended_on.is_(None),
            )
            .order_by(Subscription.id)
        )
        .scalars()
        .all()
    )
    done = 0
    for subscription in due:
        if not billed(subscription) or subscription.ends_on <= subscription.created_at.date():
            continue  # entered already expired: the portal never held its renewal
        # A term a job missed (the portal was down) is still renewed, one term at a time.
        while subscription.ended_on is None and subscription.ends_on <= today:
            if not _isolated(subscription, "renewal", partial(_end_of_term, subscription, now)):
                break
            done += 1
    return done


def _end_of_term(subscription: Subscription, now: dt.datetime) -> None:
    review_due_quarters(subscription, now, include_last=True)
    renew_or_end(subscription, now)
