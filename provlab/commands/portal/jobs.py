"""``provlab portal jobs``: the portal's job worker as a process of its own, for production.

The portal's web server then runs no worker thread (leave ``PORTAL_RUN_WORKER`` off): web
processes answer requests, and one or more ``provlab portal jobs`` processes run the due jobs.
Several may run against one PostgreSQL database: a job is claimed with ``FOR UPDATE SKIP LOCKED``
and a lease (``webcore.jobs``), so each due job runs once, whichever process claims it. It runs
``JobScheduler.run_next`` itself, as ``webcore.job_worker.Worker`` does in a thread, so it can count
what ran and stop between two jobs.
"""

from __future__ import annotations

import collections
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from provlab.commands.portal.base import portal_app, portal_group, var_option


@portal_group.command("jobs")
@click.option(
    "--poll",
    "poll_seconds",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between looks for due jobs once none is left.",
)
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@var_option
def jobs(poll_seconds: float, once: bool, var: Path) -> None:
    """Run the portal's due jobs until stopped (SIGTERM or Ctrl-C); several may share one
    PostgreSQL database. Prints how many jobs this process ran when it stops."""
    from webcore.clock import app_clock, is_simulated

    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    with portal_app(var) as app:
        if is_simulated(app):
            # On simulated time jobs run as `provlab clock` moves the time, never by the wall clock.
            raise click.ClickException(
                "the portal runs on simulated time: its jobs run as `provlab clock` moves it"
            )
        scheduler = app.extensions["jobs"]
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        click.echo(f"portal jobs worker ready (polling every {poll_seconds:g} s)", err=True)
        outcomes: collections.Counter[str] = collections.Counter()
        while not stop.is_set():
            # One job at a time, so a stop takes effect between two jobs, never inside one.
            try:
                run = scheduler.run_next(app_clock(app).now())
            except Exception as exc:  # a database hiccup: keep the worker alive, as Worker does
                click.echo(f"portal jobs worker: {type(exc).__name__}: {exc}; retrying", err=True)
                run = None
            if run is not None:
                outcomes[run.outcome] += 1
            elif once:
                break
            else:
                stop.wait(poll_seconds)
    detail = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    click.echo(f"ran {sum(outcomes.values())} jobs" + (f" ({detail})" if detail else ""))
