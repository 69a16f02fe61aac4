"""What both apps' pages share beyond the layout: the one stylesheet (served from webcore's
``static`` folder, no CDN), times in a human format, and the simulated-time badge.

A page rendered on a simulated clock always says so (``simulated_now`` in every template), so a
time-travelled screen is never mistaken for today.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from webcore.clock import app_clock, is_simulated

STATIC_URL_PATH = "/-/static"


def human_date(value: dt.date | dt.datetime | None) -> str:
    """``Mar 2, 2026``: GitLab's short date."""
    if value is None:
        return "Never"
    return f"{value:%b} {value.day}, {value.year}"


def human_time(value: dt.datetime | dt.date | None) -> str:
    """``Mar 2, 2026, 14:05 UTC``; a date alone is shown as a date. Naive times are UTC (stored
    so by both apps)."""
    if value is None:
        return "Never"
    if not isinstance(value, dt.datetime):
        return human_date(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return f"{human_date(value)}, {value:%H:%M} UTC"


def init_ui(app: Flask) -> None:
    app.add_template_filter(human_date, "human_date")
    app.add_template_filter(human_time, "human_time")

    @app.context_processor
    def _simulated_time() -> dict[str, Any]:
        return {"simulated_now": app_clock(app).now() if is_simulated(app) else None}
