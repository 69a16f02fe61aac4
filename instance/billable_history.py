"""The instance's daily history of billable users (R30, R33): the highest count seen each day,
which the daily sync reports (R32) and the portal's seat reviews bill from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from instance.models import BillableUserCount, db
from instance.users import billable_count_query, current_plan
from protocol.license import Plan
from webcore.db import read_columns


@dataclass(frozen=True)
class BillableRecord:
    day: dt.date
    count_now: int  # billable users at this moment
    day_maximum: int  # the day's recorded count: the highest seen that day


def record_billable_users(now: dt.datetime, plan: Plan | None = None) -> BillableRecord:
    """Record today's billable user count (R30, R33): the highest seen during the day.
    ``plan`` is the current license's, when the caller holds it (else it is looked up)."""
    plan = current_plan() if plan is None else plan
    day = now.date()
    # One statement: the count now and the day's row, if any (flushes the session: Core
    # statements from here).
    count, row_id, recorded = read_columns(
        db.session, _COUNT_AND_DAY[plan is Plan.ULTIMATE], {"day": day}
    ).one()
    connection = db.session.connection()
    if row_id is None:
        connection.execute(_ADD_DAY, {"day": day, "count": count, "recorded_at": now})
        return BillableRecord(day, count, count)
    if count > recorded:
        connection.execute(_RAISE_DAY, {"row_id": row_id, "count": count, "recorded_at": now})
        return BillableRecord(day, count, count)
    return BillableRecord(day, count, recorded)


def billable_users_recorded(day: dt.date) -> bool:
    return read_columns(db.session, _DAY_RECORDED, {"day": day}).first() is not None


def max_historical_users(since: dt.date | None) -> int:
    """The highest recorded billable count since ``since`` (the license term's start)."""
    if since is None:
        return read_columns(db.session, _MAXIMUM).scalar_one() or 0
    return read_columns(db.session, _MAXIMUM_SINCE, {"since": since}).scalar_one() or 0


@dataclass(frozen=True)
class RecordedHistory:
    daily: list[tuple[dt.date, int]]  # (day, recorded count) from ``since``, by day
    maximum: int  # the highest recorded count since the term's start (``max_historical_users``)


def recorded_history(since: dt.date, term_start: dt.date) -> RecordedHistory:
    """What the daily sync reports of the history (R32), in one statement: the daily counts
    from ``since`` and the highest since ``term_start``."""
    rows = read_columns(
        db.session, _DAILY_AND_MAXIMUM, {"since": since, "term_start": term_start}
    ).all()
    # The maximum's one row is outer-joined to the days: a row with no day when none is recorded.
    daily = [(day, count) for _, day, count in rows if day is not None]
    return RecordedHistory(daily, rows[0][0] or 0)


# Built once: every sync and clean-up runs them (a statement costs more to build than to run).
# Columns and Core writes: twice a day an ORM load and flush cost more than the work.
_DAY = sa.bindparam("day", type_=BillableUserCount.day.type)
_COUNTS = BillableUserCount.__table__
_COUNT_AND_DAY = {
    ultimate: sa.select(
        billable_count_query(Plan.ULTIMATE if ultimate else None).scalar_subquery(),
        sa.select(BillableUserCount.id).where(BillableUserCount.day == _DAY).scalar_subquery(),
        sa.select(BillableUserCount.count).where(BillableUserCount.day == _DAY).scalar_subquery(),
    )
    for ultimate in (False, True)  # only Ultimate's count differs (R30)
}
_ADD_DAY = sa.insert(_COUNTS)
_RAISE_DAY = (
    sa.update(_COUNTS)
    .where(_COUNTS.c.id == sa.bindparam("row_id"))
    .values(
        count=sa.bindparam("count", type_=_COUNTS.c.count.type),
        recorded_at=sa.bindparam("recorded_at", type_=_COUNTS.c.recorded_at.type),
    )
)
_DAY_RECORDED = sa.select(BillableUserCount.id).where(BillableUserCount.day == _DAY)
_MAXIMUM = sa.select(sa.func.max(BillableUserCount.count))
_MAXIMUM_SINCE = _MAXIMUM.where(
    BillableUserCount.day >= sa.bindparam("since", type_=BillableUserCount.day.type)
)
_MAXIMUM_SINCE_TERM = (
    sa.select(sa.func.max(_COUNTS.c.count).label("maximum"))
    .where(_COUNTS.c.day >= sa.bindparam("term_start", type_=_COUNTS.c.day.type))
    .subquery()
)
_DAILY_AND_MAXIMUM = (
    sa.select(_MAXIMUM_SINCE_TERM.c.maximum, _COUNTS.c.day, _COUNTS.c.count)
    .select_from(
        _MAXIMUM_SINCE_TERM.outerjoin(
            _COUNTS, _COUNTS.c.day >= sa.bindparam("since", type_=_COUNTS.c.day.type)
        )
    )
    .order_by(_COUNTS.c.day)
)
