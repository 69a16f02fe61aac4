"""The app's clock: real UTC, or simulated and moved only by the orchestrator.

Every rule that involves time reads ``app_clock().now()``; nothing calls ``datetime.now()``.
A simulated clock lives in the server process and starts at ``SIMULATED_START``.
"""

from __future__ import annotations

from flask import Flask, current_app

from protocol.clock import Clock, RealClock, SimulatedClock, parse_utc


def init_clock(app: Flask) -> None:
    mode = app.config["CLOCK"]
    if mode == "real":
        clock: Clock = RealClock()
    elif mode == "simulated":
        start = app.config["SIMULATED_START"]
        clock = SimulatedClock(parse_utc(start) if isinstance(start, str) else start)
    else:
        raise ValueError(f"CLOCK must be 'real' or 'simulated', not {mode!r}")
    app.extensions["clock"] = clock


def app_clock(app: Flask | None = None) -> Clock:
    return (app or current_app).extensions["clock"]  # type: ignore[no-any-return]


def is_simulated(app: Flask | None = None) -> bool:
    return isinstance(app_clock(app), SimulatedClock)
