"""What a job is, as an app declares it: the columns of its jobs table, the handlers and their
retry policies (a ``JobRegistry``), what a handler gets (``JobContext``) and what a run reports
(``JobRun``), and what a worker holds (``Claim``) and reads (``Due``). ``webcore.jobs`` schedules
and runs them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Mapped, mapped_column

from protocol.clock import format_utc


class JobMixin:
    """Columns of an app's ``jobs`` table; each app maps it on its own declarative base."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_run_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # The claim of the worker running it: on the real clock, ``None`` when no worker holds it.
    locked_until: Mapped[dt.datetime | None]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base * factor**(attempt-1)``, capped, for ``max_attempts`` tries."""

    max_attempts: int
    base: dt.timedelta
    factor: float = 2.0
    cap: dt.timedelta = dt.timedelta(hours=24)

    def delay(self, attempt: int) -> dt.timedelta | None:
        if attempt >= self.max_attempts:
            return None
        seconds = self.base.total_seconds() * self.factor ** (attempt - 1)
        return min(dt.timedelta(seconds=seconds), self.cap)


@dataclass
class JobContext:
    """What a handler gets besides its arguments."""

    app: Flask
    now: dt.datetime
    job_key: str
    attempt: int
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)


Handler = Callable[[JobContext, dict[str, Any]], "dt.datetime | None"]


@dataclass(frozen=True)
class JobSpec:
    name: str
    handler: Handler
    retry: RetryPolicy | None
    description: str


@dataclass(frozen=True)
class JobRun:
    """One execution, as reported to the orchestrator and the admin."""

    app: str
    name: str
    key: str
    scheduled_for: dt.datetime
    ran_at: dt.datetime
    outcome: str  # "done", "rescheduled", "retrying", "failed", "lost" (its lease ran out)
    error: str | None = None
    next_run_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "name": self.name,
            "key": self.key,
            "scheduled_for": format_utc(self.scheduled_for),
            "ran_at": format_utc(self.ran_at),
            "outcome": self.outcome,
            "error": self.error,
            "next_run_at": format_utc(self.next_run_at) if self.next_run_at else None,
        }


class JobRegistry:
    """The declared jobs of one app: name → handler and retry policy."""

    def __init__(self) -> None:
        self._specs: dict[str, JobSpec] = {}

    def job(self, name: str, *, retry: RetryPolicy | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self._specs:
                raise ValueError(f"job {name!r} declared twice")
            doc = (handler.__doc__ or "").strip().splitlines()
            self._specs[name] = JobSpec(name, handler, retry, doc[0] if doc else "")
            return handler

        return register

    def get(self, name: str) -> JobSpec:
        return self._specs[name]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def names(self) -> list[str]:
        return sorted(self._specs)


@dataclass(frozen=True)
class Due:
    """The earliest ``next_run_at`` of the jobs table (``None``: nothing scheduled)."""

    at: dt.datetime | None


@dataclass(frozen=True)
class Claim:
    """A job this worker holds until ``locked_until`` (its lease, also its claim's identity:
    a later claim of the same job has a later lease)."""

    job_id: int
    name: str
    key: str
    args: dict[str, Any]
    scheduled_for: dt.datetime
    attempt: int
    locked_until: dt.datetime
