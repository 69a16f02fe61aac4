"""The job table's statements that run at every job run, built once per scheduler, in Core.

Time travel and the worker claim, record and look up jobs at every step; the ORM's
load-then-flush would cost several times these statements (``webcore.jobs`` runs them).

Rules:
- A claim picks the earliest due job nobody holds and leases it in one statement (``FOR UPDATE
  SKIP LOCKED`` on PostgreSQL: a job another worker is claiming is skipped, not waited for).
- A run's bookkeeping touches the row only while it is still that run's: its id, its lease and
  the due time it was claimed at (``ours``); otherwise the statement changes nothing. It returns
  the earliest due time of the other jobs, so a run needs no other statement to know what's next.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa


class JobStatements:
    """The statements of one app's job table (``model``: its ORM class)."""

    def __init__(self, model: type[Any]) -> None:
        self.model = model

    @functools.cached_property
    def next_run_of(self) -> Any:
        """When the job ``key`` runs next: a column, no row to load (periodic jobs ask at every
        run)."""
        return sa.select(self.model.next_run_at).where(self.model.key == sa.bindparam("key"))

    @functools.cached_property
    def earliest_due(self) -> Any:
        """The earliest due time of all jobs; asked of every party at every step of time travel."""
        return sa.select(sa.func.min(self.model.__table__.c.next_run_at))

    @functools.cached_property
    def claim(self) -> Any:
        """Lease the earliest job due by ``at`` whose lease (if any) ended by ``now``, until
        ``until``; returns the claimed row's id, name, key, args, next_run_at and attempts."""
        jobs = self.model.__table__
        job = jobs.alias("due_job")  # the subquery's own name for the table, never correlated
        due = (
            sa.select(job.c.id)
            .where(
                job.c.next_run_at.is_not(None),
                job.c.next_run_at <= sa.bindparam("at", type_=jobs.c.next_run_at.type),
                sa.or_(
                    job.c.locked_until.is_(None),
                    job.c.locked_until <= sa.bindparam("now", type_=jobs.c.locked_until.type),
                ),
            )
            .order_by(job.c.next_run_at, job.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        return (
            sa.update(jobs)
            .where(jobs.c.id == due)
            .values(locked_until=sa.bindparam("until", type_=jobs.c.locked_until.type))
            .returning(
                jobs.c.id, jobs.c.name, jobs.c.key, jobs.c.args, jobs.c.next_run_at, jobs.c.attempts
            )
        )

    @functools.cached_property
    def ours(self) -> Any:
        """The row is still the run's: ``job_id``, under its ``lease``, at the ``due`` time it
        was claimed at (not moved while it ran)."""
        jobs = self.model.__table__
        return sa.and_(
            jobs.c.id == sa.bindparam("job_id"),
            jobs.c.locked_until == sa.bindparam("lease", type_=jobs.c.locked_until.type),
            jobs.c.next_run_at == sa.bindparam("due", type_=jobs.c.next_run_at.type),
        )

    @functools.cached_property
    def _earliest_other_due(self) -> Any:
        """The earliest due time of every job but ``job_id``: returned by a run's bookkeeping,
        which knows its own job's next time, so time travel needs no statement of its own to
        learn whether more is due (the ``id`` excluded because PostgreSQL's subqueries see the
        table as it was before the statement, SQLite's as after)."""
        other = self.model.__table__.alias("other_job")
        return (
            sa.select(sa.func.min(other.c.next_run_at))
            .where(other.c.id != sa.bindparam("job_id"))
            .scalar_subquery()
        )

    @functools.cached_property
    def finish_one_off(self) -> Any:
        """A one-off job that ran: its row goes."""
        jobs = self.model.__table__
        return sa.delete(jobs).where(self.ours).returning(jobs.c.id, self._earliest_other_due)

    @functools.cached_property
    def reschedule(self) -> Any:
        """A periodic job that ran: due again at ``next_at``, its lease and errors cleared."""
        jobs = self.model.__table__
        return (
            sa.update(jobs)
            .where(self.ours)
            .values(
                last_run_at=sa.bindparam("ran_at", type_=jobs.c.last_run_at.type),
                next_run_at=sa.bindparam("next_at", type_=jobs.c.next_run_at.type),
                last_error=None,
                attempts=0,
                locked_until=None,
            )
            .returning(jobs.c.id, self._earliest_other_due)
        )
