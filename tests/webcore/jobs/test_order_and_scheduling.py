"""The persisted job table: jobs run in time order, rescheduled or deleted after a run, one
row per key however often it is scheduled, and a run's few statements.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.models import Job, db
from tests.support.jobs import scheduler_for
from tests.webcore.jobs.helpers import at, executed, job_row, row_keys, run_due, schedule
from webcore.job_declarations import JobRegistry
from webcore.jobs import Due, JobScheduler

# Row locks, savepoints and datetimes differ between backends: every test here runs on both.
pytestmark = pytest.mark.all_backends


# -- order, rescheduling, one-off jobs -----------------------------------------------------------


def test_due_jobs_run_earliest_first_across_keys_and_later_ones_wait(
    app: Flask, scheduler: JobScheduler, executions: Path
) -> None:
    for key, hours in (("c", 3), ("a", 1), ("late", 5), ("b", 2), ("a2", 1)):
        schedule(app, scheduler, "write_row", at(hours), key)

    runs = run_due(app, scheduler, at(4))

    assert [run.key for run in runs] == ["a", "a2", "b", "c"]
    assert executed(executions) == ["a", "a2", "b", "c"]
    assert [run.scheduled_for for run in runs] == [at(1), at(1), at(2), at(3)]
    assert all(run.outcome == "done" for run in runs)
    assert job_row(app, "late") is not None and job_row(app, "late")["next_run_at"] == at(5)
    with app.app_context():
        assert scheduler.earliest_due() == at(5)


def test_one_off_job_returning_none_is_deleted_after_its_run(
    app: Flask, scheduler: JobScheduler
) -> None:
    schedule(app, scheduler, "write_row", at(1), "once")
    run_due(app, scheduler, at(1))
    assert job_row(app, "once") is None
    assert row_keys(app) == ["once"]
    assert run_due(app, scheduler, at(10)) == []


def test_returned_next_run_reschedules_and_runs_scheduled_inside_the_window_also_run(
    app: Flask, scheduler: JobScheduler
) -> None:
    schedule(app, scheduler, "write_row", at(1), "hourly", every=3600)

    runs = run_due(app, scheduler, at(4.5))

    assert [run.scheduled_for for run in runs] == [at(1), at(2), at(3), at(4)]
    assert [run.outcome for run in runs] == ["rescheduled"] * 4
    assert runs[-1].next_run_at == at(5)
    row = job_row(app, "hourly")
    assert row is not None
    assert row["next_run_at"] == at(5) and row["last_run_at"] == at(4) and row["attempts"] == 0
    assert row_keys(app) == ["hourly"] * 4


def test_job_runs_at_the_clock_time_when_the_clock_is_past_its_due_time(
    app: Flask, scheduler: JobScheduler
) -> None:
    from webcore.clock import app_clock

    schedule(app, scheduler, "write_row", at(1), "overdue")
    app_clock(app).set(at(6))  # type: ignore[attr-defined]
    [run] = run_due(app, scheduler, at(6))
    assert run.scheduled_for == at(1) and run.ran_at == at(6)


# -- scheduling the same key ------------------------------------------------------------------------


def test_scheduling_the_same_key_twice_moves_one_row(app: Flask, scheduler: JobScheduler) -> None:
    schedule(app, scheduler, "write_row", at(5), "reminder", sleep=0)
    schedule(app, scheduler, "write_row", at(2), "reminder", every=60)
    with app.app_context():
        rows = db.session.execute(sa.select(Job).filter_by(key="reminder")).scalars().all()
        assert len(rows) == 1
    row = job_row(app, "reminder")
    assert row is not None and row["next_run_at"] == at(2) and row["args"] == {"every": 60}


def test_rescheduling_a_parked_job_revives_it_with_fresh_attempts(
    app: Flask, scheduler: JobScheduler
) -> None:
    schedule(app, scheduler, "fail_once", at(1), "revive")
    run_due(app, scheduler, at(1))
    schedule(app, scheduler, "fail_once", at(3), "revive")
    row = job_row(app, "revive")
    assert row is not None and row["next_run_at"] == at(3) and row["attempts"] == 0


def test_ensure_keeps_an_already_scheduled_job_and_revives_a_parked_one(
    app: Flask, scheduler: JobScheduler
) -> None:
    schedule(app, scheduler, "write_row", at(2), "periodic")
    with app.app_context():
        scheduler.ensure("write_row", at(9), key="periodic")
        db.session.commit()
    assert job_row(app, "periodic")["next_run_at"] == at(2)  # type: ignore[index]

    schedule(app, scheduler, "fail_once", at(1), "parked")
    run_due(app, scheduler, at(1))
    with app.app_context():
        scheduler.ensure("fail_once", at(9), key="parked")
        db.session.commit()
    assert job_row(app, "parked")["next_run_at"] == at(9)  # type: ignore[index]


def test_cancel_removes_the_job(app: Flask, scheduler: JobScheduler) -> None:
    schedule(app, scheduler, "write_row", at(1), "cancelled")
    with app.app_context():
        scheduler.cancel("cancelled")
        db.session.commit()
    assert job_row(app, "cancelled") is None
    assert run_due(app, scheduler, at(2)) == []


# -- what a run costs ----------------------------------------------------------------------------


def test_a_periodic_job_with_nothing_to_do_costs_a_few_statements(app: Flask) -> None:
    """A claim, the handler's savepoint and the run's bookkeeping are one statement each (the
    bookkeeping also returns the earliest due time of the other jobs: nothing more due, which
    time travel keeps), all in the run's one transaction, however many jobs the table holds."""
    registry = JobRegistry()

    @registry.job("idle")
    def idle(context: Any, args: dict[str, Any]) -> dt.datetime:
        return context.now + dt.timedelta(hours=1)

    scheduler = scheduler_for(app, registry)
    with app.app_context():
        for n in range(20):
            scheduler.schedule("idle", at(100 + n), key=f"later-{n}")
        scheduler.schedule("idle", at(1), key="now")
        db.session.commit()
        seen: list[str] = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        runs = scheduler.run_due(at(1))
    assert [run.key for run in runs] == ["now"]
    statements = [s for s in seen if not s.startswith("BEGIN")]
    # Claim; reschedule and the earliest due time (nothing more due), in one transaction.
    assert len(statements) == 3, statements
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):  # psycopg: no BEGIN statement
        assert len([s for s in seen if s.startswith("BEGIN")]) == 1, seen
    assert job_row(app, "now")["next_run_at"] == at(2)  # type: ignore[index]
    assert scheduler.due_after_run == Due(at(2))


def test_a_handlers_savepoint_is_one_plain_statement_after_the_claim(app: Flask) -> None:
    """Every job run takes a savepoint for its handler: one plain SQL statement right after the
    claim (SQLAlchemy's savepoint clauses have no cache key, and its ``begin_nested`` snapshots
    the session: issue 15), released by the run's commit, not by a statement of its own."""
    registry = JobRegistry()

    @registry.job("reads")
    def reads(context: Any, args: dict[str, Any]) -> dt.datetime:
        db.session.execute(sa.text("SELECT 1"))
        return context.now + dt.timedelta(hours=1)

    scheduler = scheduler_for(app, registry)
    with app.app_context():
        scheduler.schedule("reads", at(1))
        db.session.commit()
        seen: list[tuple[str, Any]] = []

        def note(_conn: Any, _cursor: Any, statement: str, _p: Any, context: Any, _m: Any) -> None:
            seen.append((statement, context.compiled))

        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            runs = scheduler.run_due(at(1))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
    assert [run.outcome for run in runs] == ["rescheduled"]
    statements = [s.split()[0] for s, _ in seen if not s.startswith("BEGIN")]
    assert statements == ["UPDATE", "SAVEPOINT", "SELECT", "UPDATE"], seen
    savepoints = [(s, c) for s, c in seen if "SAVEPOINT" in s]
    assert all(compiled is None for _, compiled in savepoints), savepoints
