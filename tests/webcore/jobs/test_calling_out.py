"""The persisted job table with handlers that call out (``webcore.outbound``): no lock held
during the call, a lease that keeps other workers off, and a run whose lease ran out undone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.models import Job, db
from tests.support.jobs import FAIL_RETRY, add_evidence, scheduler_for
from tests.webcore.jobs.helpers import at, executed, job_row, run_due, schedule
from webcore.job_declarations import JobRegistry
from webcore.jobs import JobScheduler

# Row locks, savepoints and datetimes differ between backends: every test here runs on both.
pytestmark = pytest.mark.all_backends


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


@pytest.fixture
def call(request: pytest.FixtureRequest) -> Call:
    """The outbound call the ``call_out`` handlers wait in: held open once, unless the test
    gives how many calls to hold (an indirect parameter)."""
    return Call(hold_calls=getattr(request, "param", 1))


@pytest.fixture
def scheduler(app: Flask, call: Call, executions: Path) -> JobScheduler:
    """The test scheduler, its ``call_out`` handlers waiting in ``call``."""
    return scheduler_for(app, _calling_registry(call, executions))


@contextlib.contextmanager
def _while_called_out(
    app: Flask, scheduler: JobScheduler, call: Call, until: dt.datetime
) -> Iterator[list[Any]]:
    """Run the due jobs in another thread; the block runs while the handler waits in ``call``,
    which then answers and the run finishes. Yields the runs (complete after the block)."""
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
    assert call.started.wait(PATIENCE)
    try:
        yield runs
    finally:
        call.answer.set()
    assert done.wait(PATIENCE)


def _evidence_count(app: Flask, key: str) -> int:
    with app.app_context():
        return len(
            db.session.execute(
                sa.select(Job.id).where(Job.key.startswith(f"evidence:{key}:"))
            ).all()
        )


def test_a_handler_calling_out_holds_no_lock_and_no_other_worker_runs_its_job(
    app: Flask, call: Call, scheduler: JobScheduler, executions: Path
) -> None:
    schedule(app, scheduler, "call_out", at(1), "out")
    schedule(app, scheduler, "call_out", at(3), "later")

    with _while_called_out(app, scheduler, call, at(1)) as runs:
        # While the handler waits: the claim is committed, so another worker skips the job ...
        assert run_due(app, scheduler, at(1)) == []
        # ... and nothing is locked: other work writes and commits at once.
        schedule(app, scheduler, "call_out", at(2), "later")
        assert _evidence_count(app, "out") == 1  # the prepared part is committed
    assert [(run.key, run.outcome) for run in runs] == [("out", "done")]
    assert executed(executions) == ["out"]
    assert _evidence_count(app, "out") == 2
    assert job_row(app, "out") is None
    assert job_row(app, "later")["next_run_at"] == at(2)  # type: ignore[index]


@pytest.mark.parametrize("call", [0], indirect=True, ids=["answered at once"])
def test_a_handler_failing_after_its_call_keeps_the_prepared_part_and_is_retried(
    app: Flask, scheduler: JobScheduler
) -> None:
    schedule(app, scheduler, "call_out", at(1), "refused", fail=True)

    [run] = run_due(app, scheduler, at(1))

    assert run.outcome == "retrying" and "the other party refused" in (run.error or "")
    assert _evidence_count(app, "refused") == 1  # the install's write was rolled back
    row = job_row(app, "refused")
    assert row is not None and row["attempts"] == 1 and row["next_run_at"] == at(2)
    [retry] = run_due(app, scheduler, at(2))  # the lease was released with the failure
    assert retry.outcome == "retrying"


def test_a_job_moved_while_its_handler_called_out_keeps_the_new_schedule(
    app: Flask, call: Call, scheduler: JobScheduler
) -> None:
    schedule(app, scheduler, "call_out", at(1), "moved")
    with _while_called_out(app, scheduler, call, at(1)) as runs:
        schedule(app, scheduler, "call_out", at(5), "moved")
    assert [(run.outcome, run.next_run_at) for run in runs] == [("rescheduled", at(5))]
    row = job_row(app, "moved")
    assert row is not None and row["next_run_at"] == at(5) and row["last_run_at"] == at(1)


def test_a_run_whose_lease_ran_out_and_was_claimed_again_is_undone(
    app: Flask, call: Call, executions: Path
) -> None:
    from webcore.clock import app_clock

    registry = _calling_registry(call, executions)
    # A lease of zero: the claim is over at once, as if the handler had outlived its lease.
    expired = JobScheduler("test", db, Job, registry, lambda: app_clock(app), lease=dt.timedelta())
    schedule(app, expired, "call_out", at(1), "slow", every=3600)

    with _while_called_out(app, expired, call, at(1)) as runs:
        [other] = run_due(app, expired, at(1))  # another worker takes the job and finishes it

    assert other.outcome == "rescheduled"
    assert [run.outcome for run in runs] == ["lost"]
    assert executed(executions) == ["slow", "slow"]
    # Each run committed its prepared part; only the run that kept its claim installed.
    assert _evidence_count(app, "slow") == 3
    row = job_row(app, "slow")
    assert row is not None and row["next_run_at"] == at(2) and row["last_error"] is None
