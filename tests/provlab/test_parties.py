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


def _statements(app: Flask) -> list[str]:
    import sqlalchemy as sa

    seen: list[str] = []
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    sa.event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_an_idle_in_process_party_answers_its_next_job_without_a_query(
    portal_app: Flask,
) -> None:
    party = InProcessParty(portal_app)
    first = party.next_due()
    other = InProcessParty(portal_app)  # another orchestrator's view of the same app
    assert other.next_due() == first
    seen = _statements(portal_app)
    assert party.next_due() == first and seen == []  # nothing changed: nothing asked

    earlier = T0 + dt.timedelta(minutes=1)
    with portal_app.app_context():
        from webcore.transaction import unit_of_work

        with unit_of_work():
            portal_app.extensions["jobs"].schedule("prune_nonces", earlier, key="soon")
    assert party.next_due() == earlier  # a committed change to the jobs table is seen
    assert other.next_due() == earlier  # by every party of the app

    with portal_app.app_context():
        db = portal_app.extensions["sqlalchemy"]
        portal_app.extensions["jobs"].schedule("prune_nonces", T0, key="undone")
        db.session.rollback()
    seen.clear()
    assert party.next_due() == earlier and seen == []  # a rolled-back one changes nothing
