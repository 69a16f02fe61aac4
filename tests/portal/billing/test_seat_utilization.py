"""R33: seat utilization is the maximum of the daily billable user counts of a period."""

from __future__ import annotations

from datetime import date

import pytest

from portal.billing.policy.calendar import Period
from portal.billing.policy.invoices import BillingError
from portal.billing.policy.utilization import active_users_on, seat_utilization
from protocol.messages import DailyUsage

from .helpers import daily

Q1 = Period(starts_on=date(2026, 1, 1), ends_on=date(2026, 4, 1))


def reading(day: date, users: int) -> DailyUsage:
    return DailyUsage(day=day, billable_users=users)


def test_r33_utilization_is_the_maximum_at_any_one_time_not_the_count_at_the_end() -> None:
    # 15 users added in February and removed in March still count.
    usage = daily(
        *(Q1.starts_on, Q1.ends_on),
        [(date(2026, 1, 1), 100), (date(2026, 2, 10), 115), (date(2026, 3, 5), 101)],
    )
    utilization = seat_utilization(Q1, usage)
    assert utilization.maximum == 115
    assert utilization.peak_day == date(2026, 2, 10)
    assert utilization.measured_on == date(2026, 3, 31)
    assert utilization.missing_days == ()


def test_r33_readings_after_the_last_day_of_the_period_do_not_count() -> None:
    usage = [reading(date(2026, 3, 31), 100), reading(date(2026, 4, 1), 500)]
    assert seat_utilization(Q1, usage).maximum == 100


def test_r33_readings_before_the_period_only_fill_its_first_missing_days() -> None:
    usage = [reading(date(2025, 12, 31), 140), reading(date(2026, 1, 3), 90)]
    utilization = seat_utilization(Q1, usage)
    # Jan 1 and 2 have no reading: they carry Dec 31's 140 forward.
    assert utilization.maximum == 140
    assert utilization.peak_day == date(2026, 1, 1)
    assert utilization.missing_days[:2] == (date(2026, 1, 1), date(2026, 1, 2))
    assert len(utilization.missing_days) == Q1.days - 1


def test_r33_missing_days_carry_the_last_known_count_forward_and_are_reported() -> None:
    usage = [
        reading(date(2026, 1, 1), 100),
        reading(date(2026, 1, 2), 120),
        reading(date(2026, 1, 5), 110),
    ]
    period = Period(starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 8))
    utilization = seat_utilization(period, usage)
    assert utilization.maximum == 120
    assert utilization.missing_days == (
        date(2026, 1, 3),
        date(2026, 1, 4),
        date(2026, 1, 6),
        date(2026, 1, 7),
    )


def test_r33_a_period_with_no_reading_in_or_before_it_has_no_utilization() -> None:
    utilization = seat_utilization(Q1, [reading(date(2026, 4, 2), 300)])
    assert utilization.maximum is None
    assert utilization.peak_day is None
    assert len(utilization.missing_days) == 90


def test_r33_two_readings_of_one_day_keep_the_larger() -> None:
    usage = [
        reading(date(2026, 1, 1), 100),
        reading(date(2026, 1, 1), 104),
        reading(date(2026, 1, 1), 99),
    ]
    assert seat_utilization(Q1, usage).maximum == 104


def test_r36_active_users_on_a_day_is_its_reading_or_the_last_one_before() -> None:
    usage = [
        reading(date(2026, 12, 1), 128),
        reading(date(2026, 12, 30), 126),
        reading(date(2027, 1, 2), 10),
    ]
    assert active_users_on(date(2026, 12, 30), usage) == 126
    assert active_users_on(date(2026, 12, 31), usage) == 126
    assert active_users_on(date(2026, 11, 30), usage) is None


@pytest.mark.parametrize("users", [-1, True, 1.5])
def test_a_reading_with_a_bad_count_is_refused(users: object) -> None:
    class Odd:
        day = date(2026, 1, 1)
        billable_users = users

    with pytest.raises(BillingError, match="billable_users"):
        seat_utilization(Q1, [Odd()])  # type: ignore[list-item]
