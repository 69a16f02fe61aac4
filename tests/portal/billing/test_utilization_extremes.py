"""R33: the utilization the daily seat review builds from what the database aggregates (the
carried count, the first reading, the maximum and its first day) is ``seat_utilization``'s."""

from __future__ import annotations

import datetime as dt
import random

from portal.billing.policy.calendar import Period
from portal.billing.policy.utilization import seat_utilization, utilization_from_extremes
from portal.billing.usage import DailyCount


def test_r33_utilization_from_extremes_is_seat_utilization_for_random_histories() -> None:
    rng = random.Random(33)
    period = Period(starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 7, 1))
    for _ in range(500):
        days = [period.starts_on + dt.timedelta(days=d) for d in range(-40, 91)]
        readings = [DailyCount(day, rng.randrange(5)) for day in days if rng.random() < 0.2]
        expected = seat_utilization(period, readings)
        inside = [r for r in readings if r.day >= period.starts_on]
        earlier = [r for r in readings if r.day < period.starts_on]
        maximum = max((r.billable_users for r in inside), default=None)
        got = utilization_from_extremes(
            period,
            carried=earlier[-1].billable_users if earlier else None,
            first_reading_on=inside[0].day if inside else None,
            maximum=maximum,
            peak_day=min((r.day for r in inside if r.billable_users == maximum), default=None),
        )
        assert (got.maximum, got.peak_day) == (expected.maximum, expected.peak_day)
