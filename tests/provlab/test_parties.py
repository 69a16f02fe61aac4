"""How the orchestrator reaches an app: over HTTP (``provlab up``) or in the same process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from protocol.clock import format_utc
from provlab.parties import HttpParty, InProcessParty, PartyError
from provlab.servers import free_port
from provlab.timetravel import travel_to
from tests.conftest import SIMULATION_TOKEN
from webcore.clock import app_clock

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def test_http_parties_travel_like_in_process_ones(
    portal_app: Flask, instance_app: Flask, live_server: Any
) -> None:
    portal = HttpParty("portal", live_server(portal_app).url, SIMULATION_TOKEN)
    instance = HttpParty("instance", live_server(instance_app).url + "/", SIMULATION_TOKEN)
    assert portal.now() == T0 and instance.now() == T0
    with instance_app.app_context():
        first_sync = instance_app.extensions["jobs"].earliest_due()
    assert instance.next_due() == first_sync

    journey = travel_to([portal, instance], T0 + dt.timedelta(days=1))

    ran = [(run["app"], run["name"]) for run in journey.runs]
    assert ("instance", "daily_sync") in ran and ("portal", "prune_nonces") in ran
    assert [run["ran_at"] for run in journey.runs] == sorted(run["ran_at"] for run in journey.runs)
    assert app_clock(portal_app).now() == app_clock(instance_app).now() == T0 + dt.timedelta(days=1)
    assert portal.now() == T0 + dt.timedelta(days=1)


def test_http_party_reports_a_refusal_with_the_apps_reason(
    portal_app: Flask, live_server: Any
) -> None:
    party = HttpParty("portal", live_server(portal_app).url, "not-the-token")
    with pytest.raises(PartyError, match="portal: a valid simulation token is required"):
        party.now()


def test_http_party_reports_an_unreachable_app(portal_app: Flask) -> None:
    party = HttpParty("portal", f"http://127.0.0.1:{free_port()}", SIMULATION_TOKEN, timeout=5)
    with pytest.raises(PartyError, match="portal at http://127.0.0.1:\\d+ is unreachable"):
        party.now()


def test_http_party_cannot_move_a_clock_backwards(portal_app: Flask, live_server: Any) -> None:
    party = HttpParty("portal", live_server(portal_app).url, SIMULATION_TOKEN)
    party.run_due(T0 + dt.timedelta(hours=5))
    with pytest.raises(PartyError, match="never moves backwards"):
        party.run_due(T0 + dt.timedelta(hours=1))
    assert format_utc(party.now()) == "2026-03-02T05:00:00Z"


def test_in_process_party_moves_the_clock_and_runs_what_is_due(instance_app: Flask) -> None:
    party = InProcessParty(instance_app)
    due = party.next_due()
    assert due is not None and due > T0
    runs = party.run_due(due)
    assert runs and all(run["scheduled_for"] == format_utc(due) for run in runs)
    assert party.now() == due
    later = party.next_due()
    assert later is not None and later > due
