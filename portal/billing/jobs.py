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

from portal.billing.policy.calendar import Period, review_years, term_quarters
from portal.billing.policy.reviews import ReviewCycle
from portal.billing.renewals import renew_or_end
from portal.billing.review_inputs import (
    CHUNK,
    ReviewInputs,
    load_review_inputs,
    load_utilizations,
    seat_link_ids,
)
from portal.billing.review_writes import ReviewWrites
from portal.billing.reviews import (
    billed,
    review_cycle_in_effect,
    review_due_quarters,
    review_due_years,
)
from portal.billing.usage import current_term
from portal.errors import Refused
from portal.models import SeatReview, SeatReviewKind, Subscription, SubscriptionKind, db
from webcore.db import read_columns

log = logging.getLogger("provlab.portal.billing")


def run_seat_reviews(now: dt.datetime) -> int:
    """R34, R35: the daily seat review of every subscription with a quarter (quarterly terms)
    or a year (terms longer than 12 months) that has ended before its term.

    Most days nothing ends: ``subscriptions_due`` finds the subscriptions with a period due not
    yet reviewed from two narrow queries and the dates alone. Those are reviewed in chunks: each
    chunk's subscriptions locked and their inputs read in a few set-based queries (the daily
    counts aggregated per period by the database), then each reviewed by the policy.
    """
    today = now.date()
    due = subscriptions_due(today)
    count = 0
    for start in range(0, len(due), CHUNK):
        subscriptions = (
            db.session.execute(
                sa.select(Subscription)
                .where(Subscription.id.in_(due[start : start + CHUNK]))
                .order_by(Subscription.id)
                .with_for_update()  # a sales order can't change the seats under the review
            )
            .scalars()
            .all()
        )
        inputs = load_review_inputs(subscriptions, seat_link_ids(subscriptions))
        load_utilizations(
            inputs, {s.id: _usage_periods(s, inputs[s.id], today) for s in subscriptions}
        )
        writes = ReviewWrites()
        for subscription in subscriptions:
            count += _decided(subscription, writes, inputs[subscription.id], now)
        writes.write(now)
    return count


def subscriptions_due(today: dt.date) -> list[int]:
    """The ids of the active paid subscriptions with a period due not yet reviewed (R34, R35).

    Two narrow queries (the subscriptions' dates, their current term's reviews) and the pure
    calendar, cached by term: a day when nothing ends costs a few milliseconds per 10,000
    subscriptions. Years of a quarterly contract count only while its cycle in effect is annual
    (asked of the database for those few), else such a term would be re-checked every day.
    """
    reviewed: dict[int, set[tuple[str, dt.date]]] = {}
    for subscription_id, kind, period_starts_on in read_columns(
        db.session, _REVIEWED_THIS_TERM, {"today": today}
    ):
        reviewed.setdefault(subscription_id, set()).add((kind, period_starts_on))
    calendar: dict[tuple[dt.date, dt.date, str], list[tuple[str, Period]]] = {}
    due: list[int] = []
    years_only: list[int] = []
    for subscription_id, starts_on, ends_on, created_at, cycle in read_columns(
        db.session, _ACTIVE_TERMS, {"today": today}
    ):
        key = (_as_date(starts_on), ends_on, cycle)
        if key not in calendar:
            calendar[key] = _review_periods(Period(starts_on=key[0], ends_on=ends_on), cycle)
        known_since = created_at.date()
        done = reviewed.get(subscription_id, set())
        kinds = {
            kind
            for kind, period in calendar[key]
            if known_since < period.ends_on <= today and (kind, period.starts_on) not in done
        }
        if SeatReviewKind.QUARTERLY in kinds or (kinds and cycle != ReviewCycle.QUARTERLY):
            due.append(subscription_id)
        elif kinds:
            years_only.append(subscription_id)
    if years_only:
        due.extend(_annual_in_effect(years_only))
    return sorted(due)


# Built once (the review runs daily and mostly finds nothing due): columns, no entities.
_TODAY = sa.bindparam("today", type_=Subscription.ends_on.type)
_TERM_STARTS_ON = sa.func.coalesce(Subscription.renewed_on, Subscription.starts_on)
_ACTIVE = (
    Subscription.kind == SubscriptionKind.PAID,
    Subscription.ends_on > _TODAY,
    Subscription.starts_on < _TODAY,
)
_REVIEWED_THIS_TERM = (
    sa.select(SeatReview.subscription_id, SeatReview.kind, SeatReview.period_starts_on)
    .join(Subscription, Subscription.id == SeatReview.subscription_id)
    .where(*_ACTIVE, SeatReview.term_starts_on == _TERM_STARTS_ON)
)
_ACTIVE_TERMS = (
    sa.select(
        Subscription.id,
        _TERM_STARTS_ON,
        Subscription.ends_on,
        Subscription.created_at,
        Subscription.review_cycle,
    )
    .where(*_ACTIVE)
    .order_by(Subscription.id)
)


def _as_date(value: object) -> dt.date:
    # COALESCE of two DATE columns comes back as text on SQLite.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _review_periods(term: Period, cycle: str) -> list[tuple[str, Period]]:
    # The periods a daily review may hold: every quarter but the term's last of a quarterly
    # contract; every year but the last of a longer term (reviewed annually when its cycle in
    # effect is annual).
    periods: list[tuple[str, Period]] = []
    if cycle == ReviewCycle.QUARTERLY:
        periods.extend((SeatReviewKind.QUARTERLY, q) for q in term_quarters(term)[:-1])
    periods.extend((SeatReviewKind.ANNUAL, y) for y in review_years(term)[:-1])
    return periods


def _annual_in_effect(ids: list[int]) -> list[int]:
    subscriptions = (
        db.session.execute(sa.select(Subscription).where(Subscription.id.in_(ids))).scalars().all()
    )
    inputs = load_review_inputs(subscriptions, seat_link_ids(subscriptions))
    return [
        s.id for s in subscriptions if review_cycle_in_effect(s, inputs[s.id]) is ReviewCycle.ANNUAL
    ]


def _usage_periods(
    subscription: Subscription, inputs: ReviewInputs, today: dt.date
) -> list[Period]:
    # The periods due whose utilization comes from daily counts: those of a Seat Link
    # subscription not reviewed yet (a check-in, when there is one, is used instead).
    if not inputs.seat_link:
        return []
    done = {(r.period_starts_on, r.period_ends_on) for r in inputs.reviews}
    known_since = subscription.created_at.date()
    return [
        period
        for _, period in _review_periods(current_term(subscription), subscription.review_cycle)
        if known_since < period.ends_on <= today and (period.starts_on, period.ends_on) not in done
    ]


def _decided(
    subscription: Subscription, writes: ReviewWrites, inputs: ReviewInputs, now: dt.datetime
) -> bool:
    """Decide one subscription's due reviews into ``writes``; one that can't be reviewed (a plan
    missing from PRICE_LIST, bad data) is logged for support, its decisions dropped whole."""
    mark, seats = writes.mark(), subscription.seats
    try:
        review_due_quarters(subscription, now, inputs=inputs, writes=writes)
        if len(review_years(current_term(subscription))) > 1 and (
            review_cycle_in_effect(subscription, inputs) is ReviewCycle.ANNUAL
        ):
            review_due_years(subscription, now, inputs=inputs, writes=writes)
    except (ValueError, Refused) as exc:
        writes.drop_since(mark)
        subscription.seats = seats
        log.error("seat review of %s failed: %s", subscription.name, exc)
        return False
    return True


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
    # Most days no term ends: asked as a column first, the subscriptions loaded only for some.
    if read_columns(db.session, _ANY_TERM_ENDED, {"today": today}).first() is None:
        return 0
    due = db.session.execute(_TERMS_ENDED, {"today": today}).scalars().all()
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


# Built once: the renewals run daily and mostly find nothing.
_TERM_ENDED = (
    Subscription.kind == SubscriptionKind.PAID,
    Subscription.ends_on <= _TODAY,
    Subscription.ended_on.is_(None),
)
_TERMS_ENDED = sa.select(Subscription).where(*_TERM_ENDED).order_by(Subscription.id)
_ANY_TERM_ENDED = sa.select(Subscription.id).where(*_TERM_ENDED).limit(1)


def _end_of_term(subscription: Subscription, now: dt.datetime) -> None:
    review_due_quarters(subscription, now, include_last=True)
    renew_or_end(subscription, now)
