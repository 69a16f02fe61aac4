"""The instance's daily history of billable users (R30, R33): the highest count seen each day,
which the daily sync reports (R32) and the portal's seat reviews bill from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from instance.models import BillableUserCount, db
from instance.users import billable_user_count
from protocol.license import Plan


@dataclass(frozen=True)
class BillableRecord:
    day: dt.date
    count_now: int  # billable users at this moment
    day_maximum: int  # the day's recorded count: the highest seen that day


def record_billable_users(now: dt.datetime, plan: Plan | None = None) -> BillableRecord:
    """Record today's billable user count (R30, R33): the highest seen during the day.
    ``plan`` is the current license's, when the caller holds it (else it is looked up)."""
    count = billable_user_count(plan)
    row = db.session.execute(_DAY_ROW, {"day": now.date()}).scalar_one_or_none()
    if row is None:
        row = BillableUserCount(day=now.date(), count=count, recorded_at=now)
        db.session.add(row)
    elif count > row.count:
        row.count, row.recorded_at = count, now
    db.session.flush()
    return BillableRecord(row.day, count, row.count)


def billable_users_recorded(day: dt.date) -> bool:
    return db.session.execute(_DAY_RECORDED, {"day": day}).first() is not None


def max_historical_users(since: dt.date | None) -> int:
    """The highest recorded billable count since ``since`` (the license term's start)."""
    if since is None:
        return db.session.execute(_MAXIMUM).scalar_one() or 0
    return db.session.execute(_MAXIMUM_SINCE, {"since": since}).scalar_one() or 0


# Built once: every sync and clean-up reads them (a statement costs more to build than to run).
_DAY = sa.bindparam("day", type_=BillableUserCount.day.type)
_DAY_ROW = sa.select(BillableUserCount).where(BillableUserCount.day == _DAY)
_DAY_RECORDED = sa.select(BillableUserCount.id).where(BillableUserCount.day == _DAY)
_MAXIMUM = sa.select(sa.func.max(BillableUserCount.count))
_MAXIMUM_SINCE = _MAXIMUM.where(
    BillableUserCount.day >= sa.bindparam("since", type_=BillableUserCount.day.type)
)
