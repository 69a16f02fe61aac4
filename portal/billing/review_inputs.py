"""What a seat review reads of the database, for many subscriptions at once (R32, R33).

The daily seat review (``jobs.run_seat_reviews``) reviews every subscription with a period due
in a few set-based queries: whether each shares its usage by Seat Link, its reviews and sales
check-ins of the current term, and the utilization of every period due, aggregated by the
database from the daily counts the syncs reported (``DailyUsageCount``) with GROUP BY over the
days of each period. The pure policy then reviews each subscription from these.

Queries only: nothing here writes but a temporary table of the periods to aggregate. Reviews
are read as columns (``ReviewRow``), not ORM entities: the daily job holds tens of thousands and
writes the new ones with Core inserts (``review_writes``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import sqlalchemy as sa

from portal.billing.policy.calendar import Period
from portal.billing.policy.utilization import SeatUtilization, utilization_from_extremes
from portal.billing.usage import REPORT_WINDOW, current_term
from portal.gitlab_com.models import NamespaceLink
from portal.models import Activation, DailyUsageCount, SalesCheckIn, SeatReview, Subscription, db
from protocol.license import LicenseType

# Subscriptions read per round trip: keeps every IN list and the periods' table small.
CHUNK = 500

_periods = sa.Table(
    "seat_review_periods",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscription_id", sa.Integer, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("carried_from", sa.Date, nullable=False),
    prefixes=["TEMPORARY"],
)


@dataclass(slots=True)
class ReviewRow:
    """A ``seat_reviews`` row as the policy reads it and a review writes it: ``id`` is None
    until it is inserted (``review_writes.ReviewWrites.write``)."""

    subscription_id: int
    kind: str
    label: str
    term_starts_on: dt.date
    term_ends_on: dt.date
    period_starts_on: dt.date
    period_ends_on: dt.date
    measured_maximum: int | None
    peak_day: dt.date | None
    source: str
    licensed_seats: int
    overage: int
    outcome: str
    reviewed_at: dt.datetime
    id: int | None = None

    def values(self) -> dict[str, Any]:
        """The new row's columns, as an insert takes them (``dataclasses.asdict`` deep-copies)."""
        return {name: getattr(self, name) for name in _NEW_REVIEW_FIELDS}


_REVIEW_FIELDS = [column.name for column in fields(ReviewRow)]
_NEW_REVIEW_FIELDS = [name for name in _REVIEW_FIELDS if name != "id"]  # the database gives ids
_REVIEW_COLUMNS = [SeatReview.__table__.c[name] for name in _REVIEW_FIELDS]


@dataclass
class ReviewInputs:
    """One subscription's Seat Link state, reviews and check-ins of its current term, and the
    utilization from daily counts of the periods asked for (R32, R33)."""

    seat_link: bool
    reviews: list[ReviewRow] = field(default_factory=list)
    check_ins: list[SalesCheckIn] = field(default_factory=list)
    utilizations: dict[tuple[dt.date, dt.date], SeatUtilization] = field(default_factory=dict)

    subscription_id: int = 0

    def utilization(self, period: Period) -> SeatUtilization:
        """The period's utilization from daily counts: loaded with the others, or now."""
        key = (period.starts_on, period.ends_on)
        if key not in self.utilizations:
            (self.utilizations[key],) = period_utilizations([(self.subscription_id, period)])
        return self.utilizations[key]


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def seat_link_ids(subscriptions: Iterable[Subscription]) -> set[int]:
    """R32: the subscriptions whose instance is activated and shares its usage, or that are
    linked to a GitLab.com group, whose usage comes back with every push (``has_seat_link``)."""
    subscriptions = list(subscriptions)
    cloud = [s.id for s in subscriptions if s.license_type == LicenseType.ONLINE_CLOUD.value]
    found: set[int] = set()
    for ids in _chunks(cloud):
        found.update(
            db.session.execute(
                sa.select(Activation.subscription_id).where(Activation.subscription_id.in_(ids))
            ).scalars()
        )
    for ids in _chunks([s.id for s in subscriptions]):
        found.update(
            db.session.execute(
                sa.select(NamespaceLink.subscription_id).where(
                    NamespaceLink.subscription_id.in_(ids)
                )
            ).scalars()
        )
    return found


def load_review_inputs(
    subscriptions: Sequence[Subscription], seat_links: set[int]
) -> dict[int, ReviewInputs]:
    """Each subscription's Seat Link state, and its reviews and check-ins of the current term."""
    inputs = {
        s.id: ReviewInputs(seat_link=s.id in seat_links, subscription_id=s.id)
        for s in subscriptions
    }
    terms = {s.id: current_term(s) for s in subscriptions}
    for ids in _chunks(list(inputs)):
        for values in db.session.execute(
            sa.select(*_REVIEW_COLUMNS)
            .where(SeatReview.subscription_id.in_(ids))
            .order_by(SeatReview.period_starts_on, SeatReview.id)
        ):
            review = ReviewRow(*values)
            if review.term_starts_on == terms[review.subscription_id].starts_on:
                inputs[review.subscription_id].reviews.append(review)
        for check_in in db.session.execute(
            sa.select(SalesCheckIn)
            .where(SalesCheckIn.subscription_id.in_(ids))
            .order_by(SalesCheckIn.period_starts_on)
        ).scalars():
            term = terms[check_in.subscription_id]
            if (
                check_in.period_starts_on >= term.starts_on
                and check_in.period_ends_on <= term.ends_on
            ):
                inputs[check_in.subscription_id].check_ins.append(check_in)
    return inputs


def load_utilizations(inputs: dict[int, ReviewInputs], periods: dict[int, list[Period]]) -> None:
    """Aggregate the daily counts of ``periods`` (by subscription id) into their inputs."""
    wanted = [(sid, period) for sid, listed in periods.items() for period in listed]
    step = CHUNK * 4
    for start in range(0, len(wanted), step):
        chunk = wanted[start : start + step]
        for (sid, period), utilization in zip(chunk, period_utilizations(chunk), strict=True):
            inputs[sid].utilizations[(period.starts_on, period.ends_on)] = utilization


def period_utilizations(wanted: Sequence[tuple[int, Period]]) -> list[SeatUtilization]:
    """R33: each (subscription, period)'s utilization from the daily counts its syncs reported.

    As ``usage.usage_history`` reads them (``DailyUsageCount`` keeps each day's latest report):
    the period's days, and the last day with a reading before it, carried into it, from reports
    received up to ``REPORT_WINDOW`` before the period (so at most twice that many days back).
    One statement: the periods go in a temporary table, and the database groups their days.
    """
    if not wanted:
        return []
    connection = db.session.connection()
    _periods.create(connection, checkfirst=True)
    connection.execute(_periods.delete())
    connection.execute(
        _periods.insert(),
        [
            {
                "id": index,
                "subscription_id": sid,
                "starts_on": period.starts_on,
                "ends_on": period.ends_on,
                "carried_from": period.starts_on - 2 * REPORT_WINDOW,
            }
            for index, (sid, period) in enumerate(wanted)
        ],
    )
    found = {row.id: row for row in connection.execute(_AGGREGATE)}  # a row per period
    connection.execute(_periods.delete())
    utilizations = []
    for index, (_, period) in enumerate(wanted):
        row = found[index]
        utilizations.append(
            utilization_from_extremes(
                period,
                carried=row.carried,
                first_reading_on=row.first_day,
                maximum=row.maximum,
                peak_day=row.peak_day,
            )
        )
    return utilizations


def _aggregate() -> sa.Select[Any]:
    # Per period, index seeks on (subscription_id, day) but for one scan of its days: the first
    # day with the most users; then that count, the first reading and the reading carried in.
    # The periods' extremes are a MATERIALIZED common table expression (SQLite 3.35, PostgreSQL
    # 12): as a subquery in FROM, SQLite flattened it into the outer query and so evaluated the
    # peak day's scan and sort three times per period (in the select list, in the maximum's
    # look-up and in a filter) and the carried reading twice. A period without any reading
    # comes back with NULLs, read as no data (``utilization_from_extremes``).
    p, d = _periods, DailyUsageCount.__table__
    own = d.c.subscription_id == p.c.subscription_id
    inside = sa.and_(own, d.c.day >= p.c.starts_on, d.c.day < p.c.ends_on)
    earlier = sa.and_(own, d.c.day >= p.c.carried_from, d.c.day < p.c.starts_on)
    peak_day = (
        sa.select(d.c.day)
        .where(inside)
        .order_by(d.c.billable_users.desc(), d.c.day)
        .limit(1)
        .scalar_subquery()
    )
    first_day = sa.select(sa.func.min(d.c.day)).where(inside).scalar_subquery()
    carried = (
        sa.select(d.c.billable_users)
        .where(earlier)
        .order_by(d.c.day.desc())
        .limit(1)
        .scalar_subquery()
    )
    periods = (
        sa.select(
            p.c.id,
            p.c.subscription_id,
            peak_day.label("peak_day"),
            first_day.label("first_day"),
            carried.label("carried"),
        )
        .cte("periods")
        .prefix_with("MATERIALIZED")
    )
    maximum = (
        sa.select(d.c.billable_users)
        .where(d.c.subscription_id == periods.c.subscription_id, d.c.day == periods.c.peak_day)
        .scalar_subquery()
    )
    return sa.select(
        periods.c.id,
        maximum.label("maximum"),
        sa.type_coerce(periods.c.first_day, sa.Date).label("first_day"),
        sa.type_coerce(periods.c.peak_day, sa.Date).label("peak_day"),
        periods.c.carried,
    )


_AGGREGATE = _aggregate()
