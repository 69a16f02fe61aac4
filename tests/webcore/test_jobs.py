"""The persisted job table: time order, rescheduling, retries, side effects, concurrent workers.

Runs on SQLite and PostgreSQL, over the instance's database with a test-local registry (see
``tests.support.jobs``): handlers insert evidence rows named after their job key.
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.models import Job, db
from protocol.clock import format_utc
from tests.support.jobs import FAIL_RETRY, add_evidence, build_registry, run_worker, scheduler_for
from webcore.job_declarations import JobRegistry
from webcore.jobs import Due, JobScheduler

# Row locks, savepoints and datetimes differ between backends: every test here runs on both.
pytestmark = pytest.mark.all_backends

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@pytest.fixture
def app(make_instance: Any) -> Iterator[Flask]:
    app = make_instance()
    with app.app_context():
        db.session.execute(sa.delete(Job))  # the instance's own periodic jobs are not ours
        db.session.commit()
    yield app


@pytest.fixture
def executions(tmp_path: Path) -> Path:
    return tmp_path / "executions.log"


@pytest.fixture
def scheduler(app: Flask, executions: Path) -> JobScheduler:
    return scheduler_for(app, build_registry(str(executions)))


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
        job = db.session.execute(sa.select(Job).filter_by(key=key)).scalar_one_or_none()
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


# -- several workers -----------------------------------------------------------------------------

JOBS = 24


def _threads_run_due(
    app: Flask, scheduler: JobScheduler, until: dt.datetime, workers: int
) -> list[Any]:
    barrier = threading.Barrier(workers)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            with app.app_context():
                barrier.wait(30)
                runs = scheduler.run_due(until)
                db.session.remove()
            with lock:
                results.extend(runs)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    return results


def _schedule_row_writers(app: Flask, scheduler: JobScheduler) -> list[str]:
    """JOBS row-writing jobs due a minute apart from at(1); their keys, in order."""
    keys = [f"job{number:02d}" for number in range(JOBS)]
    for number, key in enumerate(keys):
        schedule(app, scheduler, "write_row", at(1) + dt.timedelta(minutes=number), key, sleep=0.01)
    return keys


def test_concurrent_worker_threads_run_each_due_job_exactly_once(
    app: Flask, scheduler: JobScheduler, executions: Path
) -> None:
    expected = _schedule_row_writers(app, scheduler)

    runs = _threads_run_due(app, scheduler, at(2), workers=4)

    assert sorted(run.key for run in runs) == expected
    assert sorted(executed(executions)) == expected
    assert row_keys(app) == expected
    with app.app_context():
        assert scheduler.pending() == []


def test_concurrent_worker_threads_run_a_failing_job_once_per_attempt(
    app: Flask, scheduler: JobScheduler, executions: Path
) -> None:
    keys = [f"flaky{n}" for n in range(8)]
    for key in keys:
        schedule(app, scheduler, "fail_with_retry", at(1), key, sleep=0.02)

    runs = _threads_run_due(app, scheduler, at(1.5), workers=4)

    assert sorted(run.key for run in runs) == keys
    assert collections.Counter(executed(executions)) == {key: 1 for key in keys}
    for key in keys:
        row = job_row(app, key)
        assert row is not None and row["attempts"] == 1 and row["next_run_at"] == at(2)


def test_concurrent_worker_processes_run_each_due_job_exactly_once(
    app: Flask, scheduler: JobScheduler, executions: Path, tmp_path: Path, db_backend: str
) -> None:
    if db_backend != "postgres":
        pytest.skip("separate worker processes are exercised on PostgreSQL (row locks)")
    expected = _schedule_row_writers(app, scheduler)
    for key in ("flakyA", "flakyB"):
        schedule(app, scheduler, "fail_with_retry", at(1), key, sleep=0.02)
    url = app.config["DATABASE_URL"]

    context = multiprocessing.get_context("spawn")
    go = context.Event()
    processes = [
        context.Process(
            target=run_worker,
            args=(
                url,
                str(tmp_path / f"worker{n}"),
                str(executions),
                format_utc(at(2) - dt.timedelta(seconds=1)),
                go,
            ),
        )
        for n in range(3)
    ]
    for process in processes:
        process.start()
    go.set()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0, 0, 0]

    assert row_keys(app) == expected
    assert collections.Counter(executed(executions)) == {
        **{key: 1 for key in expected},
        "flakyA": 1,
        "flakyB": 1,
    }
    total_runs = sum(int(p.read_text()) for p in tmp_path.glob("executions.log.runs-*"))
    assert total_runs == JOBS + 2


# -- the real-time worker ------------------------------------------------------------------------


def test_real_time_worker_runs_due_jobs_in_the_background_until_stopped(
    make_instance: Any, executions: Path
) -> None:
    import time

    from tests.support.jobs import install_registry
    from webcore.clock import app_clock
    from webcore.job_worker import Worker

    app = make_instance(clock="real")
    scheduler = install_registry(app, build_registry(str(executions)))
    now = app_clock(app).now()
    schedule(app, scheduler, "write_row", now - dt.timedelta(seconds=1), "due-now")
    schedule(app, scheduler, "write_row", now + dt.timedelta(days=1), "tomorrow")

    worker = Worker(app, scheduler, poll_seconds=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not executed(executions) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert executed(executions) == ["due-now"]
    assert row_keys(app) == ["due-now"]
    assert job_row(app, "tomorrow") is not None


def test_concurrent_scheduling_of_the_same_key_leaves_one_row_and_no_error(
    app: Flask, scheduler: JobScheduler
) -> None:
    workers = 6
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            with app.app_context():
                barrier.wait(30)
                scheduler.schedule("write_row", at(number + 1), key="shared", args={"by": number})
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with app.app_context():
        rows = db.session.execute(sa.select(Job).filter_by(key="shared")).scalars().all()
        assert len(rows) == 1
        assert rows[0].next_run_at == at(rows[0].args["by"] + 1)


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


# -- handlers that call out (webcore.outbound) ---------------------------------------------------

PATIENCE = 30.0  # only so that a regression fails instead of hanging; never a speed threshold


class Call:
    """An outbound call a test holds open: ``started`` once the handler waits in it."""

    def __init__(self, hold_calls: int = 1) -> None:
        self.started = threading.Event()
        self.answer = threading.Event()
        self.held = hold_calls

    def wait(self) -> None:
        if self.held > 0:
            self.held -= 1
            self.started.set()
            assert self.answer.wait(PATIENCE)


def _calling_registry(call: Call, executions: Path) -> JobRegistry:
    from tests.support.jobs import FAIL_RETRY
    from webcore.outbound import outside_transaction

    registry = JobRegistry()

    @registry.job("call_out", retry=FAIL_RETRY)
    def call_out(context: Any, args: dict[str, Any]) -> dt.datetime | None:
        """Prepare (evidence), wait for a held call with no transaction, install (evidence)."""
        with executions.open("a") as log:
            log.write(context.job_key + "\n")
        add_evidence(context)
        with outside_transaction(db.session):
            call.wait()
        add_evidence(context)
        if args.get("fail"):
            raise RuntimeError("the other party refused")
        every = args.get("every")
        return context.now + dt.timedelta(seconds=every) if every else None

    return registry


def _run_in_thread(app: Flask, scheduler: JobScheduler, until: dt.datetime) -> Any:
    done = threading.Event()
    runs: list[Any] = []

    def work() -> None:
        try:
            with app.app_context():
                runs.extend(scheduler.run_due(until))
                db.session.remove()
        finally:
            done.set()

    threading.Thread(target=work, daemon=True).start()
    return done, runs


def _evidence_count(app: Flask, key: str) -> int:
    with app.app_context():
        return len(
            db.session.execute(
                sa.select(Job.id).where(Job.key.startswith(f"evidence:{key}:"))
            ).all()
        )


def test_a_handler_calling_out_holds_no_lock_and_no_other_worker_runs_its_job(
    app: Flask, executions: Path
) -> None:
    call = Call()
    scheduler = scheduler_for(app, _calling_registry(call, executions))
    schedule(app, scheduler, "call_out", at(1), "out")
    schedule(app, scheduler, "call_out", at(3), "later")

    done, runs = _run_in_thread(app, scheduler, at(1))
    assert call.started.wait(PATIENCE)
    try:
        # While the handler waits: the claim is committed, so another worker skips the job ...
        assert run_due(app, scheduler, at(1)) == []
        # ... and nothing is locked: other work writes and commits at once.
        schedule(app, scheduler, "call_out", at(2), "later")
        assert _evidence_count(app, "out") == 1  # the prepared part is committed
    finally:
        call.answer.set()
    assert done.wait(PATIENCE)
    assert [(run.key, run.outcome) for run in runs] == [("out", "done")]
    assert executed(executions) == ["out"]
    assert _evidence_count(app, "out") == 2
    assert job_row(app, "out") is None
    assert job_row(app, "later")["next_run_at"] == at(2)  # type: ignore[index]


def test_a_handler_failing_after_its_call_keeps_the_prepared_part_and_is_retried(
    app: Flask, executions: Path
) -> None:
    call = Call(hold_calls=0)
    scheduler = scheduler_for(app, _calling_registry(call, executions))
    schedule(app, scheduler, "call_out", at(1), "refused", fail=True)

    [run] = run_due(app, scheduler, at(1))

    assert run.outcome == "retrying" and "the other party refused" in (run.error or "")
    assert _evidence_count(app, "refused") == 1  # the install's write was rolled back
    row = job_row(app, "refused")
    assert row is not None and row["attempts"] == 1 and row["next_run_at"] == at(2)
    [retry] = run_due(app, scheduler, at(2))  # the lease was released with the failure
    assert retry.outcome == "retrying"


def test_a_job_moved_while_its_handler_called_out_keeps_the_new_schedule(
    app: Flask, executions: Path
) -> None:
    call = Call()
    scheduler = scheduler_for(app, _calling_registry(call, executions))
    schedule(app, scheduler, "call_out", at(1), "moved")
    done, runs = _run_in_thread(app, scheduler, at(1))
    assert call.started.wait(PATIENCE)
    try:
        schedule(app, scheduler, "call_out", at(5), "moved")
    finally:
        call.answer.set()
    assert done.wait(PATIENCE)
    assert [(run.outcome, run.next_run_at) for run in runs] == [("rescheduled", at(5))]
    row = job_row(app, "moved")
    assert row is not None and row["next_run_at"] == at(5) and row["last_run_at"] == at(1)


def test_a_run_whose_lease_ran_out_and_was_claimed_again_is_undone(
    app: Flask, executions: Path
) -> None:
    from webcore.clock import app_clock

    call = Call()
    registry = _calling_registry(call, executions)
    # A lease of zero: the claim is over at once, as if the handler had outlived its lease.
    expired = JobScheduler("test", db, Job, registry, lambda: app_clock(app), lease=dt.timedelta())
    schedule(app, expired, "call_out", at(1), "slow", every=3600)

    done, runs = _run_in_thread(app, expired, at(1))
    assert call.started.wait(PATIENCE)
    try:
        [other] = run_due(app, expired, at(1))  # another worker takes the job and finishes it
    finally:
        call.answer.set()
    assert done.wait(PATIENCE)

    assert other.outcome == "rescheduled"
    assert [run.outcome for run in runs] == ["lost"]
    assert executed(executions) == ["slow", "slow"]
    # Each run committed its prepared part; only the run that kept its claim installed.
    assert _evidence_count(app, "slow") == 3
    row = job_row(app, "slow")
    assert row is not None and row["next_run_at"] == at(2) and row["last_error"] is None


def test_a_periodic_job_with_nothing_to_do_costs_a_few_statements(app: Flask) -> None:
    """A claim and the run's bookkeeping are one statement each, plus the earliest due time
    read to find nothing more due (time travel keeps it), all in the run's one transaction,
    however many jobs the table holds (a handler that reads nothing takes no savepoint)."""
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


def test_a_handlers_savepoint_is_sent_as_plain_sql_not_compiled_at_each_run(app: Flask) -> None:
    """Every job run takes a savepoint for its handler; SQLAlchemy's own savepoint clauses have
    no cache key, so each was compiled anew at every run (issue 15): they are sent as plain SQL."""
    registry = JobRegistry()

    @registry.job("reads")
    def reads(context: Any, args: dict[str, Any]) -> dt.datetime:
        db.session.execute(sa.text("SELECT 1"))  # the savepoint is taken at the first statement
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
    savepoints = [(s, c) for s, c in seen if "SAVEPOINT" in s]
    assert [s.split()[0] for s, _ in savepoints] == ["SAVEPOINT", "RELEASE"], seen
    assert all(compiled is None for _, compiled in savepoints), savepoints
