# Time, as both parties read it.
#
# Rules this module enforces:
# - Protocol code never calls datetime.now(): it asks a Clock, so simulated time moves every
#   rule that depends on time (freshness windows, license terms, daily syncs) together.
# - Every datetime that crosses this module is timezone-aware UTC; a naive datetime is a bug
#   (it would silently mean "server local time") and is refused with ValueError.
# - Simulated time never moves backwards: jobs already run, nonces already claimed and
#   licenses already issued would otherwise contradict the clock.
# - On the wire a timestamp is "YYYY-MM-DDTHH:MM:SS[.ffffff]Z", one spelling per instant.
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "RealClock", "SimulatedClock", "format_utc", "parse_utc"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class RealClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "RealClock()"


def _require_aware(dt: object, what: str) -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{what}: expected a datetime")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what}: expected a timezone-aware datetime, got a naive one")
    return dt.astimezone(UTC)


class SimulatedClock:
    """A clock that only moves when told to; shared by request threads, hence the lock."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start, "start")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, t: datetime) -> None:
        target = _require_aware(t, "t")
        with self._lock:
            if target < self._now:
                raise ValueError(
                    f"simulated time cannot move backwards "
                    f"(from {format_utc(self._now)} to {format_utc(target)})"
                )
            self._now = target

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new time."""
        if not isinstance(delta, timedelta):
            raise TypeError("delta: expected a timedelta")
        if delta < timedelta(0):
            raise ValueError("simulated time cannot move backwards (negative delta)")
        with self._lock:
            self._now += delta
            return self._now

    def __repr__(self) -> str:
        return f"SimulatedClock({format_utc(self.now())!r})"


def format_utc(dt: datetime) -> str:
    """The one wire spelling of an instant: '2026-01-02T03:04:05Z' (+ '.ffffff' if non-zero)."""
    utc = _require_aware(dt, "dt")
    # Formatted by hand: strftime('%Y') does not zero-pad years below 1000 on every platform.
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


# ASCII digits only: \d would also match other scripts' digits. Only UTC offsets are accepted
# because every party speaks UTC; any other offset is a peer bug worth surfacing.
_UTC_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,6}))?(?:Z|\+00:00)"
)


def parse_utc(s: str) -> datetime:
    """Parse a UTC timestamp ('...Z' or '...+00:00'); anything else raises ValueError."""
    if not isinstance(s, str):
        # ValueError, not TypeError: callers feed this parsed JSON and catch one error.
        raise ValueError("expected a timestamp string")  # noqa: TRY004
    match = _UTC_TIMESTAMP.fullmatch(s)
    if match is None:
        raise ValueError(f"not a UTC timestamp: {s[:40]!r}")
    year, month, day, hour, minute, second, fraction = match.groups()
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        int((fraction or "0").ljust(6, "0")),
        tzinfo=UTC,
    )
