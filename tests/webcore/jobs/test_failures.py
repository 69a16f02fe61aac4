"""The persisted job table: a failing run is undone, recorded, retried with backoff or parked;
side effects run only after a run commits, and never undo it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.models import Job, db
from tests.support.jobs import FAIL_RETRY, add_evidence, scheduler_for
from tests.webcore.jobs.helpers import at, executed, job_row, row_keys, run_due, schedule
from webcore.job_declarations import JobRegistry
from webcore.jobs import JobScheduler

# Row locks, savepoints and datetimes differ between backends: every test here runs on both.
pytestmark = pytest.mark.all_backends


# -- failures ------------------------------------------------------------------------------------


def test_failed_run_is_rolled_back_recorded_and_retried_with_backoff_then_parked(
    app: Flask, scheduler: JobScheduler, executions: Path
) -> None:
    schedule(app, scheduler, "fail_with_retry", at(1), "flaky")

    [first] = run_due(app, scheduler, at(1))
    assert first.outcome == "retrying" and "boom on attempt 1" in (first.error or "")
    row = job_row(app, "flaky")
    assert row is not None
    assert row_keys(app) == []  # the handler's write vanished with the rollback
    assert row["attempts"] == 1 and row["last_run_at"] == at(1)
    assert row["last_error"] == "RuntimeError: boom on attempt 1"
    assert row["next_run_at"] == at(1) + FAIL_RETRY.base  # 1 hour later

    # Nothing runs before the backoff has passed.
    assert run_due(app, scheduler, at(1.99)) == []
    [second] = run_due(app, scheduler, at(2))
    assert second.outcome == "retrying"
    assert job_row(app, "flaky")["next_run_at"] == at(2) + 2 * FAIL_RETRY.base  # type: ignore[index]

    [third] = run_due(app, scheduler, at(4))
    assert third.outcome == "failed" and third.next_run_at is None
    parked = job_row(app, "flaky")
    assert parked is not None
    assert parked["next_run_at"] is None and parked["attempts"] == 3
    assert parked["last_error"] == "RuntimeError: boom on attempt 3"
    with app.app_context():
        assert scheduler.earliest_due() is None
        assert scheduler.pending() == []
    assert run_due(app, scheduler, at(100)) == []
    assert executed(executions) == ["flaky"] * 3
    assert row_keys(app) == []


def test_a_retry_that_succeeds_clears_the_error_and_the_attempts(
    app: Flask, scheduler: JobScheduler
) -> None:
    schedule(app, scheduler, "fail_with_retry", at(1), "recovers", succeed_on=2)
    run_due(app, scheduler, at(1))
    [retry] = run_due(app, scheduler, at(2))
    assert retry.outcome == "done"
    assert job_row(app, "recovers") is None
    assert row_keys(app) == ["recovers"]


def test_job_without_retry_policy_is_parked_after_its_first_failure(
    app: Flask, scheduler: JobScheduler
) -> None:
    schedule(app, scheduler, "fail_once", at(1), "fragile")
    [run] = run_due(app, scheduler, at(1))
    assert run.outcome == "failed"
    row = job_row(app, "fragile")
    assert row is not None and row["next_run_at"] is None and row["attempts"] == 1
    assert row["last_error"] == "ValueError: no retry for me"


def test_a_write_that_fails_when_flushed_is_the_jobs_failure_and_leaves_nothing_behind(
    app: Flask, scheduler: JobScheduler
) -> None:
    schedule(app, scheduler, "conflicting_write", at(1), "clash")
    schedule(app, scheduler, "write_row", at(2), "after")
    runs = run_due(app, scheduler, at(2))
    assert [(run.key, run.outcome) for run in runs] == [("clash", "failed"), ("after", "done")]
    assert "IntegrityError" in (runs[0].error or "")
    row = job_row(app, "clash")
    assert row is not None and row["attempts"] == 1 and row["next_run_at"] is None
    assert row_keys(app) == ["after"]


def test_a_failing_handlers_orm_changes_are_undone_and_its_failure_recorded_under_its_claim(
    app: Flask,
) -> None:
    """The handler's savepoint is plain SQL, unknown to the ORM: what the handler changed on
    loaded objects, flushed or not, and what it added must not survive into the failure's
    record, which commits in the run's one transaction (the claim held throughout)."""
    registry = JobRegistry()

    @registry.job("meddles")
    def meddles(context: Any, args: dict[str, Any]) -> None:
        bystander = db.session.execute(sa.select(Job).filter_by(key="bystander")).scalar_one()
        bystander.last_error = "flushed by a failing handler"
        db.session.flush()
        bystander.attempts = 99  # changed, never flushed
        add_evidence(context)
        db.session.add(Job(name="evidence", key="pending", args={}, attempts=0))
        raise RuntimeError("meddled")

    scheduler = scheduler_for(app, registry)
    with app.app_context():
        scheduler.schedule("meddles", at(1))
        db.session.add(Job(name="meddles", key="bystander", args={}, attempts=0))
        db.session.commit()
        ends: list[str] = []

        def committed(_conn: Any) -> None:
            ends.append("commit")

        def rolled_back(_conn: Any) -> None:
            ends.append("rollback")

        sa.event.listen(db.engine, "commit", committed)
        sa.event.listen(db.engine, "rollback", rolled_back)
        try:
            [run] = scheduler.run_due(at(1))
        finally:
            sa.event.remove(db.engine, "commit", committed)
            sa.event.remove(db.engine, "rollback", rolled_back)
    assert run.outcome == "failed" and run.error == "RuntimeError: meddled"
    bystander = job_row(app, "bystander")
    assert bystander is not None
    assert bystander["last_error"] is None and bystander["attempts"] == 0
    assert row_keys(app) == [] and job_row(app, "pending") is None
    failed = job_row(app, "meddles")
    assert failed is not None and failed["attempts"] == 1 and failed["next_run_at"] is None
    # The failure recorded in the run's own transaction (no rollback before it), then a claim
    # that found nothing more to run.
    assert ends == ["commit", "rollback"]


def test_a_run_whose_commit_fails_is_recorded_as_the_jobs_failure(
    app: Flask, scheduler: JobScheduler
) -> None:
    """The claim shares the run's transaction; a failing commit undoes both, and the run's
    failure is still recorded on the job (nobody holds it): parked, as it has no retries."""
    schedule(app, scheduler, "write_row", at(1), "doomed")
    failures = ["commit refused"]

    def refuse(session: Any) -> None:
        if (
            failures and not session.in_nested_transaction()
        ):  # the run's commit, not the savepoint's
            raise RuntimeError(failures.pop())

    with app.app_context():
        sa.event.listen(db.session(), "before_commit", refuse)
        try:
            [run] = scheduler.run_due(at(1))
        finally:
            sa.event.remove(db.session(), "before_commit", refuse)
    assert run.outcome == "failed" and run.error == "RuntimeError: commit refused"
    row = job_row(app, "doomed")
    assert row is not None and row["attempts"] == 1 and row["next_run_at"] is None
    assert row_keys(app) == []  # the handler's write went with the failed commit


def test_job_with_an_undeclared_name_is_parked_not_raised(
    app: Flask, scheduler: JobScheduler
) -> None:
    with app.app_context():
        db.session.add(Job(name="vanished", key="orphan", args={}, next_run_at=at(1), attempts=0))
        db.session.commit()
    [run] = run_due(app, scheduler, at(1))
    assert run.outcome == "failed" and "vanished" in (run.error or "")
    assert job_row(app, "orphan")["next_run_at"] is None  # type: ignore[index]


def test_scheduling_an_unknown_job_name_is_refused(app: Flask, scheduler: JobScheduler) -> None:
    with app.app_context(), pytest.raises(ValueError, match="unknown job"):
        scheduler.schedule("nope", at(1))


def test_retry_policy_backs_off_exponentially_up_to_its_cap_and_gives_up_after_max_attempts() -> (
    None
):
    from webcore.job_declarations import RetryPolicy

    policy = RetryPolicy(
        max_attempts=5, base=dt.timedelta(minutes=1), factor=3.0, cap=dt.timedelta(minutes=20)
    )
    assert [policy.delay(n) for n in range(1, 6)] == [
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=3),
        dt.timedelta(minutes=9),
        dt.timedelta(minutes=20),
        None,
    ]


# -- side effects --------------------------------------------------------------------------------


def _side_effect_registry(seen: list[str], app: Flask) -> JobRegistry:
    registry = JobRegistry()

    @registry.job("notify")
    def notify(context: Any, args: dict[str, Any]) -> None:
        add_evidence(context)

        def send() -> None:
            # Runs after the commit: a separate connection already sees the job's row.
            with db.engine.connect() as other:
                count = other.execute(
                    sa.select(sa.func.count())
                    .select_from(Job)
                    .where(Job.key.startswith(f"evidence:{context.job_key}:"))
                ).scalar()
            seen.append(f"sent {context.job_key} rows={count}")
            if args.get("explode"):
                raise OSError("SMTP is down")

        context.after_commit(send)
        seen.append(f"handled {context.job_key}")
        if args.get("fail"):
            raise RuntimeError("handler failed")
        return None

    return registry


def test_side_effects_run_after_commit_and_only_when_the_run_succeeds(app: Flask) -> None:
    seen: list[str] = []
    scheduler = scheduler_for(app, _side_effect_registry(seen, app))
    schedule(app, scheduler, "notify", at(1), "ok")
    schedule(app, scheduler, "notify", at(2), "broken", fail=True)

    runs = run_due(app, scheduler, at(3))

    assert [run.outcome for run in runs] == ["done", "failed"]
    assert seen == ["handled ok", "sent ok rows=1", "handled broken"]
    assert row_keys(app) == ["ok"]


def test_a_failing_side_effect_does_not_undo_the_committed_run(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    scheduler = scheduler_for(app, _side_effect_registry(seen, app))
    schedule(app, scheduler, "notify", at(1), "mail", explode=True)

    [run] = run_due(app, scheduler, at(1))

    assert run.outcome == "done"
    assert row_keys(app) == ["mail"]
    assert job_row(app, "mail") is None
    assert any("side effect of job mail failed" in r.getMessage() for r in caplog.records)
