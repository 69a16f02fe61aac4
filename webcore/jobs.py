"""Scheduled work: a persisted table of jobs, each due at a time in the app's own clock.

Rules of this module:
- A job row names a handler, carries JSON arguments (ids, never objects) and a ``next_run_at``.
  Its ``key`` is unique, so scheduling the same work twice updates one row instead of adding two.
- A due job is claimed with a lease, in the transaction its run commits: one statement picks it
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the database write lock on SQLite) and sets
  ``locked_until``. While that transaction is open its lock keeps other workers off; once
  committed (at the end of the run, or earlier by a handler that calls out) the lease does, so
  several workers never run a job twice, yet no lock is held while a handler waits for a call.
- The handler runs in that transaction (after a savepoint); the job's bookkeeping (last run, next run, lease
  released) commits with it, so the handler's writes and the record that the job ran commit
  together. The bookkeeping re-checks the lease: a run whose lease ran out and was taken by
  another worker is rolled back (outcome ``lost``).
- A handler that must wait for another party (an HTTP call to the portal) calls it inside
  ``webcore.outbound.outside_transaction``: that commits its work so far and holds nothing during
  the call (on SQLite a held transaction is the write lock, which would stop every request);
  what it writes afterwards commits with the bookkeeping. The lease alone keeps other workers off.
- The bookkeeping statement also returns the earliest due time of the other jobs, so
  ``run_due`` knows without another statement whether more is due by its time: when nothing is
  (the usual case) no other statement or transaction is needed.
- The lease runs on the real clock (``lease``, default 15 minutes), never the app's simulated
  one: it only bounds how long a crashed worker keeps a job. A handler must finish well within.
- The handler returns when it should run next (periodic work) or ``None`` (one-off: the row goes).
  If the job was moved by ``schedule`` while it ran, that newer schedule is kept instead.
- A failing handler is rolled back to a savepoint taken after the claim; the job records the
  error (in the same transaction, under the same claim) and is retried with backoff if its
  retry policy allows, otherwise it is parked (``next_run_at`` cleared) with its last error.
  Where the savepoint is gone (a failed flush or commit rolled back the transaction), the error
  is recorded in a new one, if the job is still the run's (at its due time, held by nobody).
- Fire-and-forget side effects (mail) go through ``after_commit``: they run only once the run
  committed, and their failure never undoes it.
- Jobs run in time order: ``run_due(at)`` runs everything due at or before ``at``, earliest first,
  including jobs that earlier runs scheduled within that window.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError

from protocol.clock import Clock, RealClock
from webcore.db import Database, read_columns
from webcore.job_declarations import (
    Claim,
    Due,
    JobContext,
    JobRegistry,
    JobRun,
    JobSpec,
)
from webcore.job_statements import JobStatements

log = logging.getLogger(__name__)

# The savepoint a job's handler runs in (``JobScheduler._run``).
HANDLER_SAVEPOINT = "job_handler"

# A runaway handler that keeps rescheduling itself at the same instant must not hang time travel.
MAX_RUNS_PER_CALL = 100_000

# How long a claimed job stays off other workers; far above any handler's run (the portal call
# times out after 10 seconds), so only a crashed worker's job ever waits for it to end.
DEFAULT_LEASE = dt.timedelta(minutes=15)


class JobScheduler:
    """Schedules, inspects and runs one app's jobs."""

    def __init__(
        self,
        app_name: str,
        db: Database,
        model: type[Any],
        registry: JobRegistry,
        clock: Callable[[], Clock],
        *,
        lease: dt.timedelta = DEFAULT_LEASE,
        lease_clock: Clock | None = None,
    ) -> None:
        self.app_name = app_name
        self.db = db
        self.model = model
        self.registry = registry
        self._clock = clock
        self.lease = lease
        self._lease_clock = lease_clock or RealClock()
        self._statements = JobStatements(model)
        # What the last ``run_due`` read as the earliest due job when it found nothing more to
        # run, in the transaction it ended with; ``None`` when unknown.
        self.due_after_run: Due | None = None

    # -- scheduling (inside the caller's transaction) ------------------------------------------

    def schedule(
        self,
        name: str,
        at: dt.datetime,
        *,
        key: str | None = None,
        args: dict[str, Any] | None = None,
    ) -> Any:
        """Schedule ``name`` at ``at``; an existing job with the same key is moved instead."""
        if name not in self.registry:
            raise ValueError(f"unknown job {name!r}")
        key = key or name
        session = self.db.session
        job = self.db.find(self.model, self.model.key == key)
        if job is None:
            try:
                # A savepoint: if another transaction inserts the same key first, ours loses
                # the insert (unique key) without losing the caller's transaction, and moves it.
                with session.begin_nested():
                    job = self.model(
                        name=name, key=key, args=args or {}, next_run_at=at, attempts=0
                    )
                    session.add(job)
                return job
            except IntegrityError:
                job = session.execute(
                    sa.select(self.model).where(self.model.key == key).with_for_update()
                ).scalar_one()
        job.name, job.args, job.next_run_at, job.attempts = name, args or {}, at, 0
        session.flush()
        return job

    def schedule_new(
        self, name: str, at: dt.datetime, jobs: list[tuple[str, dict[str, Any]]]
    ) -> None:
        """Schedule ``name`` at ``at`` once per (key, args), each key new (e.g. named after a row
        inserted in this transaction): added to the session at once, without ``schedule``'s
        look-up of an existing job, for work that schedules many (a billing run's mails)."""
        if name not in self.registry:
            raise ValueError(f"unknown job {name!r}")
        self.db.session.add_all(
            self.model(name=name, key=key, args=args, next_run_at=at, attempts=0)
            for key, args in jobs
        )

    def ensure(self, name: str, at: dt.datetime, *, key: str | None = None) -> None:
        """Schedule ``name`` at ``at`` unless it is already scheduled (periodic jobs)."""
        key = key or name
        if self.scheduled_at(key) is None:  # no such job, or parked
            self.schedule(name, at, key=key)

    def scheduled_at(self, key: str) -> dt.datetime | None:
        """When the job ``key`` runs next; ``None`` if there is no such job or it is parked."""
        due: dt.datetime | None = read_columns(
            self.db.session, self._statements.next_run_of, {"key": key}
        ).scalar_one_or_none()
        return due

    def cancel(self, key: str) -> None:
        self.db.session.execute(sa.delete(self.model).where(self.model.key == key))

    def earliest_due(self) -> dt.datetime | None:
        # Asked of every party at every step of time travel: a cached Core statement.
        due: dt.datetime | None = (
            self.db.session.connection().execute(self._statements.earliest_due).scalar_one_or_none()
        )
        return due

    def pending(self) -> list[Any]:
        return list(
            self.db.session.execute(
                sa.select(self.model)
                .where(self.model.next_run_at.is_not(None))
                .order_by(self.model.next_run_at, self.model.id)
            ).scalars()
        )

    # -- running (each job its own transaction) ------------------------------------------------

    def run_due(self, at: dt.datetime) -> list[JobRun]:
        """Run every job due at or before ``at``, earliest first; return what ran. Afterwards
        ``due_after_run`` holds the earliest due time as the last transaction left it. Runs in
        the session of the current app context, whose objects a failing handler's undo drops
        (``_undo_handler``): callers open a context of their own (time travel, the worker)."""
        runs: list[JobRun] = []
        self.due_after_run = None
        self.db.session.rollback()  # start from a clean transaction
        for _ in range(MAX_RUNS_PER_CALL):
            claim = self._lease_next(at)
            if claim is None:
                self.db.session.rollback()
                return runs
            run, more = self._run(claim, at, chain=True)
            runs.append(run)
            if not more:
                return runs
        raise RuntimeError(f"{self.app_name}: more than {MAX_RUNS_PER_CALL} job runs at {at}")

    def run_next(self, at: dt.datetime) -> JobRun | None:
        """Claim and run the earliest job due at or before ``at``; ``None`` if there is none."""
        self.db.session.rollback()  # start from a clean transaction
        claim = self._lease_next(at)
        if claim is None:
            self.db.session.rollback()
            return None
        return self._run(claim, at, chain=False)[0]

    def _run(self, claim: Claim, at: dt.datetime, *, chain: bool) -> tuple[JobRun, bool]:
        """Run a job claimed in the current transaction, which the run commits (the lease holds
        from then on, or from the handler's own commit if it calls out). A failing handler is
        undone to a savepoint taken after the claim, so its failure is recorded under the same
        claim. With ``chain``, also says whether anything more is due by ``at`` (read in this
        transaction: when nothing is, no other transaction is needed)."""
        session = self.db.session
        spec = self.registry.get(claim.name) if claim.name in self.registry else None
        ran_at = max(self._clock().now(), claim.scheduled_for)
        context = JobContext(
            app=_current_app(), now=ran_at, job_key=claim.key, attempt=claim.attempt
        )
        more = chain
        transaction = session().get_transaction()  # the scoped session's own Session
        self._connection().exec_driver_sql(f"SAVEPOINT {HANDLER_SAVEPOINT}")
        try:
            if spec is None:
                raise LookupError(f"no handler declared for job {claim.name!r}")
            next_run_at = spec.handler(context, dict(claim.args))
            session.flush()  # the handler's writes first: reloading the row must not drop them
            others_due = self._record_run(claim, ran_at, next_run_at)
            if others_due is None:  # not the common case: sort it out on the loaded row
                next_run_at, more = self._record_on_row(claim, ran_at, next_run_at, at, chain)
                if next_run_at is LOST:
                    session.rollback()
                    return self._lost(claim, ran_at), more
            elif chain:
                more = self._due_by(at, others_due.at, next_run_at)
            session.commit()  # a failing flush or commit is the handler's failure too
        except Exception as exc:  # a job's failure is recorded, never propagated to the worker
            if not self._undo_handler(transaction):
                session.rollback()  # the claim goes too unless committed: see _record_failure
            return self._record_failure(claim, spec, ran_at, exc), more
        for callback in context._after_commit:
            self.due_after_run = None  # a side effect may schedule work after that transaction
            _run_side_effect(callback, claim.key)
        outcome = "done" if next_run_at is None else "rescheduled"
        name = spec.name if spec else "?"
        run = JobRun(
            self.app_name, name, claim.key, claim.scheduled_for, ran_at, outcome, None, next_run_at
        )
        return run, more

    def _undo_handler(self, transaction: Any) -> bool:
        """Roll a failed handler's work back to the run's savepoint, keeping the claim, so no
        other worker takes the job before its failure is recorded. The savepoint is plain SQL,
        not the ORM's ``begin_nested``, which snapshots the session at every run (about a
        twentieth of time travel) for the rare failure; the ORM's objects, which may hold what
        was undone, are dropped instead. False when the savepoint is gone: the transaction that
        held it committed (the handler called out: the claim is committed, its lease holds) or
        was rolled back (a failed flush or commit), or the ORM holds a savepoint of its own."""
        session = self.db.session()
        current = session.get_transaction()
        if (
            current is None
            or current is not transaction
            or not current.is_active
            or session.get_nested_transaction() is not None
        ):
            return False
        try:
            self._connection().exec_driver_sql(f"ROLLBACK TO SAVEPOINT {HANDLER_SAVEPOINT}")
        except Exception:
            log.exception("%s: rolling a failed job back to its savepoint failed", self.app_name)
            return False
        session.expunge_all()
        return True

    def _record_on_row(
        self, claim: Claim, ran_at: dt.datetime, next_run_at: Any, at: dt.datetime, chain: bool
    ) -> tuple[Any, bool]:
        """The bookkeeping ``_record_run`` could not do in one statement: the job was moved by
        ``schedule`` while it ran (that schedule stands), cancelled (nothing to record), or
        its lease ran out and another worker holds it (``LOST``). Returns when it runs next and
        whether more is due by ``at``."""
        job = self._locked(claim)
        if job is LOST:
            return LOST, chain
        if job is not None:  # the handler may have cancelled its own row
            job.last_run_at, job.last_error, job.attempts = ran_at, None, 0
            job.locked_until = None
            if job.next_run_at != claim.scheduled_for:
                next_run_at = job.next_run_at  # moved while it ran: that schedule stands
            elif next_run_at is None:
                self.db.session.delete(job)
            else:
                job.next_run_at = next_run_at
            self.db.session.flush()
        return next_run_at, chain and self._more_due(at)

    def _due_by(
        self, at: dt.datetime, others_due: dt.datetime | None, next_run_at: dt.datetime | None
    ) -> bool:
        """Whether a job is due by ``at``, from the bookkeeping's answer; when none is, the
        earliest due time is ``due_after_run``."""
        due = min((t for t in (others_due, next_run_at) if t is not None), default=None)
        if due is None or due > at:
            self.due_after_run = Due(due)
            return False
        return True

    def _more_due(self, at: dt.datetime) -> bool:
        """Whether a job is due by ``at``, read after a run, where nothing more usually is (time
        travel runs each instant's jobs, a worker wakes for the one due); when none is, the
        earliest due time read is ``due_after_run``."""
        due: dt.datetime | None = (
            self._connection().execute(self._statements.earliest_due).scalar_one_or_none()
        )
        if due is None or due > at:
            self.due_after_run = Due(due)
            return False
        return True

    def _lease_next(self, at: dt.datetime) -> Claim | None:
        """Lease the earliest due job nobody holds, in the current transaction (the lease holds
        once it commits; until then the row lock or, on SQLite, the write lock keeps other
        workers off). When none is due, note the earliest due time (``due_after_run``)."""
        lease_now = self._lease_clock.now()
        locked_until = lease_now + self.lease
        connection = self.db.session.connection()
        row = connection.execute(
            self._statements.claim, {"at": at, "now": lease_now, "until": locked_until}
        ).first()
        if row is None:
            # Read in the transaction that found nothing more to run: time travel asks next.
            self.due_after_run = Due(
                connection.execute(self._statements.earliest_due).scalar_one_or_none()
            )
            return None
        return Claim(
            row.id,
            row.name,
            row.key,
            dict(row.args or {}),
            row.next_run_at,
            row.attempts + 1,
            locked_until,
        )

    def _record_run(self, claim: Claim, ran_at: dt.datetime, next_run_at: Any) -> Due | None:
        """The common case in one Core statement: the job is still this run's (its lease) and
        was not moved while it ran, so it is rescheduled at ``next_run_at`` or, one-off, deleted.
        Returns the earliest due time of the other jobs; ``None`` when it is not that case."""
        ours = {"job_id": claim.job_id, "lease": claim.locked_until, "due": claim.scheduled_for}
        if next_run_at is None:
            result = self._connection().execute(self._statements.finish_one_off, ours)
        else:
            result = self._connection().execute(
                self._statements.reschedule, {**ours, "ran_at": ran_at, "next_at": next_run_at}
            )
        row = result.first()
        return None if row is None else Due(row[1])

    def _connection(self) -> Any:
        return self.db.session.connection()

    def _locked(self, claim: Claim, *, undone_is_ours: bool = False) -> Any:
        """The job row, locked for its bookkeeping; ``None`` if it is gone, ``LOST`` if another
        worker holds it now (this run's lease ran out and it was claimed again).

        ``undone_is_ours``: after a rollback of the whole transaction (a failing commit), a
        claim that was never committed is gone with it; the job, still at its due time and held
        by nobody, is still this run's to record."""
        job = self.db.session.get(
            self.model, claim.job_id, with_for_update=True, populate_existing=True
        )
        if job is None or job.locked_until == claim.locked_until:
            return job
        if (
            undone_is_ours
            and job.next_run_at == claim.scheduled_for
            and (job.locked_until is None or job.locked_until <= self._lease_clock.now())
        ):
            return job
        return LOST

    def _lost(self, claim: Claim, ran_at: dt.datetime) -> JobRun:
        message = "its lease ran out and another worker claimed the job; this run was undone"
        log.warning("%s job %s: %s", self.app_name, claim.key, message)
        return JobRun(
            self.app_name, claim.name, claim.key, claim.scheduled_for, ran_at, "lost", message
        )

    def _record_failure(
        self, claim: Claim, spec: JobSpec | None, ran_at: dt.datetime, exc: Exception
    ) -> JobRun:
        session = self.db.session
        message = f"{type(exc).__name__}: {exc}"
        log.warning("%s job %s failed: %s", self.app_name, claim.key, message)
        job = self._locked(claim, undone_is_ours=True)
        if job is LOST:
            session.rollback()
            return self._lost(claim, ran_at)
        if job is None:
            session.commit()
            return JobRun(
                self.app_name, claim.name, claim.key, claim.scheduled_for, ran_at, "failed", message
            )
        job.locked_until = None
        job.last_run_at, job.last_error = ran_at, message[:2000]
        if job.next_run_at != claim.scheduled_for:
            # Moved by ``schedule`` while it ran: that schedule stands, with fresh attempts.
            job.attempts, outcome = 0, "rescheduled"
        else:
            job.attempts += 1
            delay = spec.retry.delay(job.attempts) if spec and spec.retry else None
            job.next_run_at = ran_at + delay if delay is not None else None
            outcome = "retrying" if delay is not None else "failed"
        run = JobRun(
            self.app_name,
            job.name,
            job.key,
            claim.scheduled_for,
            ran_at,
            outcome,
            message,
            job.next_run_at,
        )
        session.commit()
        return run


# ``JobScheduler._locked``: the job row exists but another worker's claim holds it.
LOST = object()


def _current_app() -> Flask:
    from flask import current_app

    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _run_side_effect(callback: Callable[[], None], job_key: str) -> None:
    try:
        callback()
    except Exception:  # the job's data is committed; a failed side effect must not undo it
        log.exception("side effect of job %s failed", job_key)
