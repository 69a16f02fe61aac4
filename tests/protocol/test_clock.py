"""Clocks and the wire form of instants."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import RealClock, SimulatedClock, format_utc, parse_utc
from tests.protocol.factories import PROPERTY, START

PARIS = timezone(timedelta(hours=1))


def test_real_clock_is_aware_utc() -> None:
    now = RealClock().now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_simulated_clock_starts_where_told_and_advances() -> None:
    clock = SimulatedClock(START)
    assert clock.now() == START
    assert clock.advance(timedelta(hours=48)) == START + timedelta(hours=48)
    clock.set(START + timedelta(days=3))
    assert clock.now() == START + timedelta(days=3)


def test_simulated_clock_converts_aware_times_to_utc() -> None:
    clock = SimulatedClock(datetime(2026, 3, 2, 4, 41, tzinfo=PARIS))
    assert clock.now() == START and clock.now().tzinfo is UTC


def test_simulated_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        SimulatedClock(datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="naive"):
        SimulatedClock(START).set(datetime(2026, 3, 3))


def test_simulated_clock_never_moves_backwards() -> None:
    clock = SimulatedClock(START)
    clock.set(START)  # standing still is fine
    with pytest.raises(ValueError, match="backwards"):
        clock.set(START - timedelta(microseconds=1))
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == START


def test_simulated_clock_is_safe_across_threads() -> None:
    clock = SimulatedClock(START)

    def tick() -> None:
        for _ in range(500):
            clock.advance(timedelta(seconds=1))

    threads = [threading.Thread(target=tick) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.now() == START + timedelta(seconds=4000)


def test_format_utc_writes_z_and_drops_zero_microseconds() -> None:
    assert format_utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert format_utc(datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC)) == (
        "2026-01-02T03:04:05.000060Z"
    )
    assert format_utc(datetime(2026, 1, 2, 4, 4, 5, tzinfo=PARIS)) == "2026-01-02T03:04:05Z"
    assert format_utc(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00Z"


def test_format_utc_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_utc(datetime(2026, 1, 2))


def test_parse_utc_accepts_z_and_utc_offset() -> None:
    expected = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_utc("2026-01-02T03:04:05Z") == expected
    assert parse_utc("2026-01-02T03:04:05+00:00") == expected
    assert parse_utc("2026-01-02T03:04:05.5Z") == expected + timedelta(milliseconds=500)
    assert parse_utc("2026-01-02T03:04:05Z").tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-02T03:04:05",  # naive
        "2026-01-02T03:04:05+01:00",  # not UTC
        "2026-01-02 03:04:05Z",
        "2026-01-02",
        "2026-13-02T03:04:05Z",
        "2026-01-02T03:04:05.1234567Z",
        "2026-01-02t03:04:05z",
        "２０２６-01-02T03:04:05Z",
        " 2026-01-02T03:04:05Z",
        "",
        "yesterday",
    ],
)
def test_parse_utc_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        parse_utc(text)


def test_parse_utc_refuses_non_strings_with_value_error() -> None:
    with pytest.raises(ValueError):
        parse_utc(1767323045)  # type: ignore[arg-type]


@PROPERTY
@given(st.datetimes(timezones=st.just(UTC), min_value=datetime(1, 1, 1)))
def test_format_then_parse_gives_back_the_instant(instant: datetime) -> None:
    assert parse_utc(format_utc(instant)) == instant
