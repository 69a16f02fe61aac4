"""Simulation endpoints: how the orchestrator reads and moves an app's simulated clock.

They exist only on simulated time (409 otherwise) and need the shared simulation token, so a
real deployment can never have its clock moved from outside.

- ``GET  /-/simulation/next-job``  → ``{"now", "next_run_at"}``: the earliest due job.
- ``POST /-/simulation/run-due``   ``{"at"}`` → moves the clock to ``at`` (never backwards) and
  runs every job due by then, earliest first; answers ``{"now", "ran", "next_run_at",
  "called_out"}``: what ran, the earliest due job after it, as ``next-job`` would give it (so the
  orchestrator need not ask), and whether the app called another party meanwhile (so may have
  changed its jobs: the orchestrator asks the others again only then). ``called_out`` is
  conservative: a user's request calling out during the run counts too. Jobs run at the clock's
  time: the orchestrator (``provlab.timetravel``) steps ``at`` through each due instant in turn.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from protocol.clock import SimulatedClock, format_utc, parse_utc
from webcore.clock import app_clock
from webcore.jobs import JobScheduler
from webcore.transport import calls_out

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
    calls_before = calls_out(current_app)
    clock.set(at)
    jobs = scheduler()
    runs = jobs.run_due(at)
    # The run read it in its last transaction, unless a side effect ran after that: then ask.
    due = jobs.due_after_run.at if jobs.due_after_run is not None else jobs.earliest_due()
    return jsonify(
        {
            "now": format_utc(clock.now()),
            "ran": [run.to_dict() for run in runs],
            "next_run_at": format_utc(due) if due else None,
            "called_out": calls_out(current_app) != calls_before,
        }
    )
