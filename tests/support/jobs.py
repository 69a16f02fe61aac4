"""Test jobs over the instance's database, importable by worker processes (multiprocessing spawn).

Only foundation tables are touched, so feature work in either app cannot break these tests. Each
handler leaves evidence: ``write_row`` inserts an *evidence* row into the jobs table itself (key
``evidence:<job key>:<random>``, never due), which a failed run's rollback removes; every handler
also appends a line to an ``executions`` file, which no rollback undoes, so double runs show.

``install_registry`` gives an app a scheduler over a test registry (what its simulation endpoints
and time travel then use); ``extend_registry`` copies an app's real jobs into such a registry.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from webcore.job_declarations import JobContext, JobRegistry, RetryPolicy
from webcore.jobs import JobScheduler

FAIL_RETRY = RetryPolicy(max_attempts=3, base=dt.timedelta(hours=1), factor=2.0)


def _note(path: str | None, line: str) -> None:
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def add_evidence(context: JobContext) -> None:
    from instance.models import Job, db

    db.inserted(
        Job(
            name="evidence",
            key=f"evidence:{context.job_key}:{uuid.uuid4().hex[:12]}",
            args={},
            next_run_at=None,
            attempts=0,
            last_run_at=context.now,
        )
    )


def add_noting_job(registry: JobRegistry, name: str, note: Callable[[JobContext], None]) -> None:
    """A job ``name`` that calls ``note`` on each run and, given ``then_in_minutes``, plans one
    more run of itself that many minutes later (key: its own + ``+<minutes>m``)."""

    @registry.job(name)
    def noting(context: JobContext, args: dict[str, Any]) -> dt.datetime | None:
        note(context)
        if "then_in_minutes" in args:
            minutes = args["then_in_minutes"]
            context.app.extensions["jobs"].schedule(
                name,
                context.now + dt.timedelta(minutes=minutes),
                key=f"{context.job_key}+{minutes}m",
            )
        return None


def build_registry(executions: str | None = None) -> JobRegistry:
    registry = JobRegistry()

    @registry.job("write_row")
    def write_row(context: JobContext, args: dict[str, Any]) -> dt.datetime | None:
        """Insert one row named after the job, then finish (or run again ``every`` seconds)."""
        _note(executions, context.job_key)
        add_evidence(context)
        time.sleep(float(args.get("sleep", 0)))
        every = args.get("every")
        return context.now + dt.timedelta(seconds=every) if every else None

    @registry.job("fail_with_retry", retry=FAIL_RETRY)
    def fail_with_retry(context: JobContext, args: dict[str, Any]) -> dt.datetime | None:
        """Write a row, then fail (retried with backoff, parked after three attempts)."""
        _note(executions, context.job_key)
        add_evidence(context)
        time.sleep(float(args.get("sleep", 0)))
        if args.get("succeed_on") == context.attempt:
            return None
        raise RuntimeError(f"boom on attempt {context.attempt}")

    @registry.job("conflicting_write")
    def conflicting_write(context: JobContext, args: dict[str, Any]) -> dt.datetime | None:
        """Write evidence, then a row whose key clashes with this very job (fails at flush)."""
        from instance.models import Job, db

        _note(executions, context.job_key)
        add_evidence(context)
        db.session.add(
            Job(name="clash", key=context.job_key, args={}, next_run_at=None, attempts=0)
        )
        return None

    @registry.job("fail_once")
    def fail_once(context: JobContext, args: dict[str, Any]) -> dt.datetime | None:
        """Fail without a retry policy: parked at once."""
        _note(executions, context.job_key)
        raise ValueError("no retry for me")

    return registry


def scheduler_for(app: Any, registry: JobRegistry) -> JobScheduler:
    from instance.models import Job, db
    from webcore.clock import app_clock

    return JobScheduler("test", db, Job, registry, lambda: app_clock(app))


def run_worker(
    database_url: str, instance_path: str, executions: str, at_text: str, go: Any
) -> int:
    """A separate worker process: build the instance app on ``database_url`` and run due jobs."""
    from instance import create_app
    from protocol.clock import parse_utc

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": instance_path,
            "CLOCK": "simulated",
            "SIMULATED_START": "2026-03-02T00:00:00Z",
        },
        environ={},
    )
    scheduler = scheduler_for(app, build_registry(executions))
    go.wait(60)
    with app.app_context():
        runs = scheduler.run_due(parse_utc(at_text))
        app.extensions["sqlalchemy"].engine.dispose()
    Path(executions + f".runs-{os.getpid()}").write_text(str(len(runs)))
    return len(runs)


def install_registry(app: Any, registry: JobRegistry, *, keep_jobs: bool = False) -> JobScheduler:
    """Give ``app`` a scheduler over ``registry`` (what its simulation endpoints and time travel
    use); unless ``keep_jobs``, the app's own scheduled jobs are removed first."""
    import sqlalchemy as sa

    from webcore.clock import app_clock

    db = app.extensions["sqlalchemy"]
    model = app.extensions["jobs"].model
    scheduler = JobScheduler(app.name, db, model, registry, lambda: app_clock(app))
    with app.app_context():
        if not keep_jobs:
            db.session.execute(sa.delete(model))
            db.session.commit()
    app.extensions["jobs"] = scheduler
    return scheduler


def extend_registry(base: JobRegistry) -> JobRegistry:
    """A new registry holding every job of ``base`` (an app's real jobs), open to test jobs."""
    registry = JobRegistry()
    for name in base.names():
        spec = base.get(name)
        registry.job(name, retry=spec.retry)(spec.handler)
    return registry
