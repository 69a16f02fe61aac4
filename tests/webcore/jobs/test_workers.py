"""The persisted job table under several workers (threads, processes, the real-time worker):
each due job runs exactly once, and scheduling one key concurrently leaves one row.
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.models import Job, db
from protocol.clock import format_utc
from tests.support.jobs import build_registry, run_worker
from tests.webcore.jobs.helpers import at, executed, job_row, row_keys, schedule
from webcore.jobs import JobScheduler

# Row locks, savepoints and datetimes differ between backends: every test here runs on both.
pytestmark = pytest.mark.all_backends


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
