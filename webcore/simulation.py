"""Simulation endpoints: how the orchestrator reads and moves an app's simulated clock.

They exist only on simulated time (409 otherwise) and need the shared simulation token, so a
real deployment can never have its clock moved from outside.

- ``GET  /-/simulation/next-job``  → ``{"now", "next_run_at"}``: the earliest due job.
- ``POST /-/simulation/run-due``   ``{"at"}`` → moves the clock to ``at`` (never backwards)
  through every job due by then, earliest first, each run at its own due time; answers what ran.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from protocol.clock import SimulatedClock, format_utc, parse_utc
from webcore.clock import app_clock
from webcore.jobs import JobRun, JobScheduler

blueprint = Blueprint("simulation", __name__, url_prefix="/-/simulation")


def _refuse(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@blueprint.before_request
def _guard() -> Response | None:
    if not isinstance(app_clock(), SimulatedClock):
        return _refuse(409, "simulation endpoints are available only on simulated time")
    expected = current_app.config.get("SIMULATION_TOKEN") or ""
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(supplied.encode(), expected.encode()):
        return _refuse(401, "a valid simulation token is required")
    return None


def scheduler() -> JobScheduler:
    return current_app.extensions["jobs"]  # type: ignore[no-any-return]


@blueprint.get("/next-job")
def next_job() -> ResponseReturnValue:
    due = scheduler().earliest_due()
    return jsonify(
        {"now": format_utc(app_clock().now()), "next_run_at": format_utc(due) if due else None}
    )


@blueprint.post("/run-due")
def run_due() -> ResponseReturnValue:
    payload: Any = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("at"), str):
        return _refuse(400, 'expected a JSON body {"at": "<UTC time>"}')
    try:
        at = parse_utc(payload["at"])
    except ValueError:
        return _refuse(400, "at: expected an ISO 8601 UTC time such as 2026-01-01T03:00:00Z")
    clock = app_clock()
    assert isinstance(clock, SimulatedClock)
    if at < clock.now():
        return _refuse(409, f"the clock is at {format_utc(clock.now())}; it never moves backwards")
    runs = advance_through_due_jobs(scheduler(), clock, at)
    return jsonify({"now": format_utc(clock.now()), "ran": [run.to_dict() for run in runs]})


def advance_through_due_jobs(jobs: JobScheduler, clock: SimulatedClock, at: dt.datetime) -> list[JobRun]:
    """Move ``clock`` to ``at`` through every job due on the way, earliest first.

    The clock stops at each job's due time before running it, so a job due at 01:00 runs at
    01:00 (not at ``at``) and work it schedules inside the window runs in turn.
    """
    runs: list[JobRun] = []
    while (due := jobs.earliest_due()) is not None and due <= at:
        clock.set(max(due, clock.now()))
        runs.extend(jobs.run_due(clock.now()))
    clock.set(at)
    return runs
