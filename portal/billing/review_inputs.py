"""What a seat review reads of the database, for many subscriptions at once (R32, R33).

The daily seat review (``jobs.run_seat_reviews``) reviews every subscription with a period due
in a few set-based queries: whether each shares its usage by Seat Link, its reviews and sales
check-ins of the current term, and the utilization of every period due, aggregated by the
database from the daily counts the syncs reported (``UsageReport.daily_usage``) with GROUP BY
over the days of each period. The pure policy then reviews each subscription from these.

Queries only: nothing here writes but a temporary table of the periods to aggregate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from portal.billing.policy.calendar import Period
from portal.billing.policy.utilization import SeatUtilization, utilization_from_extremes
from portal.billing.usage import REPORT_WINDOW, current_term
from portal.models import Activation, SalesCheckIn, SeatReview, Subscription, UsageReport, db
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
    sa.Column("reports_from", UsageReport.__table__.c.received_at.type, nullable=False),
    sa.Column("reports_until", UsageReport.__table__.c.received_at.type, nullable=False),
    prefixes=["TEMPORARY"],
)


@dataclass
class ReviewInputs:
    """One subscription's Seat Link state, reviews and check-ins of its current term, and the
    utilization from daily counts of the periods asked for (R32, R33)."""

    seat_link: bool
    reviews: list[SeatReview] = field(default_factory=list)
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
    """R32: the subscriptions whose instance is activated and shares its usage (``has_seat_link``)."""
    cloud = [s.id for s in subscriptions if s.license_type == LicenseType.ONLINE_CLOUD.value]
    found: set[int] = set()
    for ids in _chunks(cloud):
        found.update(
            db.session.execute(
                sa.select(Activation.subscription_id).where(Activation.subscription_id.in_(ids))
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
        for review in db.session.execute(
            sa.select(SeatReview)
            .where(SeatReview.subscription_id.in_(ids))
            .order_by(SeatReview.period_starts_on, SeatReview.id)
        ).scalars():
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


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _as_date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def period_utilizations(wanted: Sequence[tuple[int, Period]]) -> list[SeatUtilization]:
    """R33: each (subscription, period)'s utilization from the daily counts its syncs reported.

    As ``usage.usage_history`` reads them: reports received from 32 days before the period to 32
    days after it; a day reported several times counts its largest figure (the instance keeps
    the day's maximum, so that is also its latest report); the last day with a reading before
    the period is carried into it. One statement: the periods go in a temporary table, the
    database expands each report's daily counts and groups them by period and day.
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
                "reports_from": _midnight(period.starts_on - REPORT_WINDOW),
                "reports_until": _midnight(period.ends_on + REPORT_WINDOW),
            }
            for index, (sid, period) in enumerate(wanted)
        ],
    )
    found = {row.id: row for row in connection.execute(_aggregate(connection.dialect.name))}
    connection.execute(_periods.delete())
    utilizations = []
    for index, (_, period) in enumerate(wanted):
        row = found.get(index)
        utilizations.append(
            utilization_from_extremes(
                period,
                carried=row.carried if row else None,
                first_reading_on=_as_date(row.first_day) if row else None,
                maximum=row.maximum if row else None,
                peak_day=_as_date(row.peak_day) if row else None,
            )
        )
    return utilizations


def _aggregate(dialect: str) -> sa.Select[tuple[object, ...]]:
    p, r = _periods.alias("p"), UsageReport.__table__.alias("r")
    day: sa.ColumnElement[Any]
    if dialect == "postgresql":
        item = sa.func.json_array_elements(r.c.daily_usage).table_valued("value").alias("item")
        day = sa.cast(item.c.value.op("->>")("day"), sa.Date)
        users = sa.cast(item.c.value.op("->>")("billable_users"), sa.Integer)
    else:
        item = sa.func.json_each(r.c.daily_usage).table_valued("value").alias("item")
        day = sa.func.json_extract(item.c.value, "$.day")  # ISO text, as SQLite keeps dates
        users = sa.cast(sa.func.json_extract(item.c.value, "$.billable_users"), sa.Integer)
    readings = (
        sa.select(p.c.id, p.c.starts_on, day.label("day"), users.label("users"))
        .select_from(p)
        .join(
            r,
            sa.and_(
                r.c.subscription_id == p.c.subscription_id,
                r.c.received_at >= p.c.reports_from,
                r.c.received_at < p.c.reports_until,
            ),
        )
        .join(item, sa.true())
        .where(day < p.c.ends_on, users >= 0)
        .subquery("readings")
    )
    daily = (
        sa.select(
            readings.c.id,
            readings.c.starts_on,
            readings.c.day,
            sa.func.max(readings.c.users).label("users"),
        )
        .group_by(readings.c.id, readings.c.starts_on, readings.c.day)
        .cte("daily")
    )
    inside = (
        sa.select(
            daily.c.id,
            sa.func.max(daily.c.users).label("maximum"),
            sa.func.min(daily.c.day).label("first_day"),
        )
        .where(daily.c.day >= daily.c.starts_on)
        .group_by(daily.c.id)
        .subquery("inside")
    )
    peak = (
        sa.select(daily.c.id, sa.func.min(daily.c.day).label("peak_day"))
        .join(inside, inside.c.id == daily.c.id)
        .where(daily.c.day >= daily.c.starts_on, daily.c.users == inside.c.maximum)
        .group_by(daily.c.id)
        .subquery("peak")
    )
    before = (
        sa.select(daily.c.id, sa.func.max(daily.c.day).label("last_day"))
        .where(daily.c.day < daily.c.starts_on)
        .group_by(daily.c.id)
        .subquery("before")
    )
    carried = (
        sa.select(daily.c.id, daily.c.users.label("carried"))
        .join(before, sa.and_(before.c.id == daily.c.id, before.c.last_day == daily.c.day))
        .subquery("carried")
    )
    return (
        sa.select(
            p.c.id,
            inside.c.maximum,
            inside.c.first_day,
            peak.c.peak_day,
            carried.c.carried,
        )
        .select_from(p)
        .outerjoin(inside, inside.c.id == p.c.id)
        .outerjoin(peak, peak.c.id == p.c.id)
        .outerjoin(carried, carried.c.id == p.c.id)
        .where(sa.or_(inside.c.id.is_not(None), carried.c.id.is_not(None)))
    )
