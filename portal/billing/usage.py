"""Seat usage as the portal knows it (R32): the instance's daily counts and sales check-ins.

- R32: seat usage comes from the daily counts the instance reports with every sync (Seat Link,
  ``usage_history``) or, without it, from sales check-ins entered in the support console.
- R31, R32 on GitLab.com: the group's seats in use come back in GitLab.com's answer to every
  push (at least daily), and are kept as a daily count like Seat Link's, so a GitLab.com
  subscription is reviewed and billed as one that shares its usage (``record_gitlab_com_usage``).

Queries only, but for ``record_gitlab_com_usage``. Recording a check-in is
``reviews.record_check_in`` (a period already reviewed can't be changed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from portal.billing.policy.calendar import Period, review_years, term_quarters
from portal.billing.policy.utilization import active_users_on
from portal.gitlab_com.models import NamespaceLink
from portal.models import Activation, SalesCheckIn, Subscription, UsageReport, db, rows_of
from protocol.license import LicenseType

# A sync repeats the instance's last 31 daily counts: a day is found in reports received up to
# 31 days after it, and the reading to carry into a period in reports up to 31 days before it.
REPORT_WINDOW = dt.timedelta(days=32)


@dataclass(frozen=True)
class DailyCount:
    """One day's billable user count as the portal knows it (a ``UsageReading``)."""

    day: dt.date
    billable_users: int


def current_term(subscription: Subscription) -> Period:
    return Period(starts_on=subscription.term_starts_on, ends_on=subscription.ends_on)


def usage_history(
    subscription: Subscription, starts_on: dt.date, ends_on: dt.date
) -> list[DailyCount]:
    """R32: the daily billable user counts the instance reported for ``[starts_on, ends_on)``.

    Every sync repeats the last days' counts; for a day reported several times the latest report
    wins (the instance keeps the day's maximum, so a later report of a day is never lower). The
    last reading before ``starts_on`` is included, so a day without a reading can carry it (R33).
    """
    reports = db.session.execute(
        sa.select(UsageReport.daily_usage)
        .where(
            UsageReport.subscription_id == subscription.id,
            UsageReport.received_at >= _midnight(starts_on - REPORT_WINDOW),
            UsageReport.received_at < _midnight(ends_on + REPORT_WINDOW),
        )
        .order_by(UsageReport.received_at, UsageReport.id)
    ).scalars()
    counts: dict[dt.date, int] = {}
    for daily in reports:
        for item in daily or ():
            try:
                day = dt.date.fromisoformat(str(item["day"]))
                users = int(item["billable_users"])
            except (KeyError, TypeError, ValueError):
                continue  # the protocol validated it on receipt; never let one row stop billing
            if day < ends_on and users >= 0:
                counts[day] = users
    earlier = [day for day in counts if day < starts_on]
    keep = max(earlier) if earlier else None
    return [
        DailyCount(day, counts[day]) for day in sorted(counts) if day >= starts_on or day == keep
    ]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


GITLAB_COM_VERSION = "GitLab.com"


def gitlab_com_instance_id(namespace_id: int) -> str:
    """What a GitLab.com group's usage reports name as their instance."""
    return f"gitlab.com/namespaces/{namespace_id}"


def record_gitlab_com_usage(
    subscription: Subscription,
    namespace_id: int,
    seats_in_use: int,
    max_seats_used: int,
    now: dt.datetime,
) -> UsageReport:
    """R31, R32: GitLab.com's answer to a push, kept as the day's billable user count.

    A day pushed several times keeps its highest count (R33: the maximum at any one time), as an
    instance keeps the day's maximum.
    """
    today = now.date()
    instance_id = gitlab_com_instance_id(namespace_id)
    earlier = db.session.execute(
        sa.select(UsageReport.daily_usage)
        .where(
            UsageReport.subscription_id == subscription.id,
            UsageReport.instance_id == instance_id,
            UsageReport.received_at >= _midnight(today),
        )
        .order_by(UsageReport.received_at.desc(), UsageReport.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    day_count = seats_in_use
    for item in earlier or ():
        if item.get("day") == today.isoformat():
            day_count = max(day_count, int(item.get("billable_users", 0)))
    report = UsageReport(
        subscription_id=subscription.id,
        instance_id=instance_id,
        received_at=now,
        gitlab_version=GITLAB_COM_VERSION,
        billable_users=seats_in_use,
        max_historical_users=max_seats_used,
        add_on_usage=[],
        daily_usage=[{"day": today.isoformat(), "billable_users": day_count}],
    )
    return db.inserted(report)


def has_seat_link(subscription: Subscription) -> bool:
    """R32: the subscription's instance is activated and shares its usage by the daily sync,
    or it is linked to a GitLab.com group, whose usage comes back with every push."""
    linked = db.session.execute(
        sa.select(NamespaceLink.id).where(NamespaceLink.subscription_id == subscription.id)
    ).first()
    if linked is not None:
        return True
    if subscription.license_type != LicenseType.ONLINE_CLOUD.value:
        return False
    return (
        db.session.execute(
            sa.select(Activation.id).where(Activation.subscription_id == subscription.id)
        ).first()
        is not None
    )


def check_ins_of(subscription: Subscription, term: Period | None = None) -> list[SalesCheckIn]:
    term = term or current_term(subscription)
    return rows_of(
        SalesCheckIn,
        subscription,
        SalesCheckIn.period_starts_on,
        where=sa.and_(
            SalesCheckIn.period_starts_on >= term.starts_on,
            SalesCheckIn.period_ends_on <= term.ends_on,
        ),
    )


def check_in_for(check_ins: Iterable[SalesCheckIn], period: Period) -> SalesCheckIn | None:
    for check_in in check_ins:
        if (
            check_in.period_starts_on == period.starts_on
            and check_in.period_ends_on == period.ends_on
        ):
            return check_in
    return None


def check_in_periods(subscription: Subscription) -> list[tuple[str, Period]]:
    """The periods of the current term a check-in can report: its quarters and its years (one,
    "Term", for a term of 12 months or less; "Year 1", "Year 2", ... for a longer one)."""
    term = current_term(subscription)
    periods: list[tuple[str, Period]] = [(q.label, q) for q in term_quarters(term)]
    periods.extend((year.label, year) for year in review_years(term))
    return periods


@dataclass(frozen=True)
class ActiveCount:
    """The active user count a renewal uses (R36), and where it came from, in the words the
    renewal invoice prints."""

    users: int
    statement: str


def active_count_at_end(subscription: Subscription, term: Period | None = None) -> ActiveCount:
    """R36: the billable users the instance reported for the term's last day.

    When no count was reported for that day, the last count received before it is used (R33),
    else the maximum of a sales check-in for a period ending with the term (R32), else the
    licensed seats; the statement says which figure was used and why.
    """
    term = term or current_term(subscription)
    last_day = term.last_day
    usage = usage_history(subscription, last_day, term.ends_on)
    active = active_users_on(last_day, usage)
    if active is not None:
        day = max(count.day for count in usage if count.day <= last_day)
        if day == last_day:
            return ActiveCount(
                active, f"Active users on {last_day}, the last day of the term: {active}."
            )
        return ActiveCount(
            active,
            f"No usage reported on {last_day}; used the last count received, {day}: "
            f"{active} users.",
        )
    reported = [c for c in check_ins_of(subscription, term) if c.period_ends_on == term.ends_on]
    if reported:
        check_in = reported[-1]
        return ActiveCount(
            check_in.reported_maximum,
            f"No usage reported on {last_day}; used the maximum reported at the sales check-in "
            f"for {check_in.period_starts_on} .. {last_day}: {check_in.reported_maximum} users.",
        )
    return ActiveCount(
        subscription.seats,
        f"No usage reported on {last_day} or before it, and no sales check-in; used the "
        f"licensed seats: {subscription.seats} users.",
    )
