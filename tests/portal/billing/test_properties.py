"""Properties of the seat reviews over random terms and usage (R33-R36)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.billing.policy.calendar import Period, add_months, term_quarters
from portal.billing.policy.renewals import Cancellation, Renewal, decide_renewal
from portal.billing.policy.reviews import (
    Collection,
    ReviewOutcome,
    annual_seat_reviews,
    quarterly_seat_reviews,
)
from portal.billing.policy.utilization import SubscriptionTerm, seat_utilization
from protocol.messages import DailyUsage

starts = st.dates(min_value=date(2020, 6, 15), max_value=date(2031, 12, 31))
twelve_months = st.just(12)


@st.composite
def terms_with_usage(
    draw: st.DrawFn, months: st.SearchStrategy[int] = twelve_months
) -> tuple[SubscriptionTerm, list[DailyUsage]]:
    starts_on = draw(starts)
    ends_on = add_months(starts_on, draw(months))
    term = Period(starts_on=starts_on, ends_on=ends_on)
    seats = draw(st.integers(min_value=1, max_value=300))
    price = draw(st.integers(min_value=0, max_value=120_000))
    # A walk of user counts, changing on a few days, with some days lost (no reading).
    changes = draw(
        st.dictionaries(
            st.integers(min_value=0, max_value=term.days - 1),
            st.integers(min_value=0, max_value=600),
            min_size=1,
            max_size=12,
        )
    )
    lost = draw(st.sets(st.integers(min_value=0, max_value=term.days - 1), max_size=40))
    usage: list[DailyUsage] = []
    users = changes[min(changes)]
    for offset in range(term.days):
        users = changes.get(offset, users)
        if offset not in lost and offset >= min(changes):
            usage.append(DailyUsage(day=starts_on + timedelta(days=offset), billable_users=users))
    return SubscriptionTerm(term=term, seats=seats, list_price_cents=price), usage


collections = st.sampled_from(list(Collection))


@settings(max_examples=150, deadline=None)
@given(terms_with_usage(st.integers(min_value=1, max_value=30)), collections)
def test_r34_charges_never_negative_last_quarter_never_charged_licensed_count_monotone(
    case: tuple[SubscriptionTerm, list[DailyUsage]], collection: Collection
) -> None:
    sub, usage = case
    reviews = quarterly_seat_reviews(sub, usage, collection=collection)
    assert len(reviews) == len(term_quarters(sub.term))
    licensed = sub.seats
    for review in reviews:
        assert review.charge_cents >= 0
        assert review.licensed_seats == licensed  # the count of its time, never lower
        assert review.licensed_seats_after >= review.licensed_seats
        licensed = review.licensed_seats_after
        if review.line_items:
            # One line per year of the term, end to end, from the quarter's end to the term's.
            items = review.line_items
            assert items[0].period_starts_on == review.quarter.ends_on
            assert items[-1].period_ends_on == sub.term.ends_on
            for before, after in zip(items, items[1:], strict=False):
                assert before.period_ends_on == after.period_starts_on
        if review.quarter.closes_year:  # the Q4 of every year, and the term's last quarter
            assert review.charge_cents == 0 and review.line_items == ()
    last = reviews[-1]
    assert last.quarter.closes_year and last.charge_cents == 0 and last.line_items == ()
    assert last.licensed_seats_after == last.licensed_seats


@settings(max_examples=150, deadline=None)
@given(terms_with_usage(), collections)
def test_r34_users_are_never_charged_twice_and_never_beyond_the_terms_maximum(
    case: tuple[SubscriptionTerm, list[DailyUsage]], collection: Collection
) -> None:
    sub, usage = case
    reviews = quarterly_seat_reviews(sub, usage, collection=collection)
    charged_seats = sum(r.overage for r in reviews if r.outcome is ReviewOutcome.CHARGED)
    term_maximum = seat_utilization(sub.term, usage).maximum or 0
    assert charged_seats <= max(term_maximum - sub.seats, 0)


@settings(max_examples=150, deadline=None)
@given(terms_with_usage())
def test_r34_r35_quarterly_total_never_exceeds_the_annual_charge_for_the_same_usage(
    case: tuple[SubscriptionTerm, list[DailyUsage]],
) -> None:
    sub, usage = case
    quarterly = sum(
        r.charge_cents for r in quarterly_seat_reviews(sub, usage, collection=Collection.AUTOMATIC)
    )
    (annual,) = annual_seat_reviews(sub, usage)
    assert 0 <= quarterly <= annual.charge_cents
    assert annual.charge_cents == annual.overage * sub.list_price_cents


@settings(max_examples=200, deadline=None)
@given(
    renews_on=starts,
    active=st.integers(min_value=0, max_value=10_000),
    notice=st.one_of(st.none(), st.integers(min_value=-60, max_value=400)),
)
def test_r36_renewal_or_cancellation_follows_the_30_day_notice(
    renews_on: date, active: int, notice: int | None
) -> None:
    notified_on = None if notice is None else renews_on - timedelta(days=notice)
    decision = decide_renewal(
        renews_on=renews_on, active_users=active, cancellation_notified_on=notified_on
    )
    if notice is not None and notice >= 30:
        assert isinstance(decision, Cancellation)
    else:
        assert isinstance(decision, Renewal)
        assert decision.seats == max(active, 1)
        assert decision.new_term.starts_on == renews_on
        assert 365 <= decision.new_term.days <= 366
