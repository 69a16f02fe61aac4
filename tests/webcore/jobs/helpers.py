"""Helpers shared by the job table's tests: a clock of hours from T0, scheduling and reading
jobs and the evidence rows their handlers write (``tests.support.jobs``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from instance.models import Job, db
from webcore.jobs import JobScheduler

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def schedule(
    app: Flask, scheduler: JobScheduler, name: str, when: dt.datetime, key: str, **args: Any
) -> None:
    with app.app_context():
        scheduler.schedule(name, when, key=key, args=args)
        db.session.commit()


def row_keys(app: Flask) -> list[str]:
    """Job keys of the evidence rows the handlers wrote (and that were committed)."""
    with app.app_context():
        keys = db.session.execute(
            sa.select(Job.key).where(Job.key.startswith("evidence:"))
        ).scalars()
        return sorted(key.split(":")[1] for key in keys)


def job_row(app: Flask, key: str) -> dict[str, Any] | None:
    with app.app_context():
        job = db.find(Job, Job.key == key)
        if job is None:
            return None
        return {
            "next_run_at": job.next_run_at,
            "attempts": job.attempts,
            "last_error": job.last_error,
            "last_run_at": job.last_run_at,
            "args": job.args,
        }


def executed(executions: Path) -> list[str]:
    return executions.read_text().split() if executions.exists() else []


def run_due(app: Flask, scheduler: JobScheduler, until: dt.datetime) -> list[Any]:
    with app.app_context():
        return scheduler.run_due(until)
