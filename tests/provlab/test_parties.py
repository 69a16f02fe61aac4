"""How the orchestrator reaches an app: over HTTP (``provlab up``) or in the same process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from instance.portal_client import SESSION_HOOK, portal_session
from protocol.clock import format_utc
from provlab.parties import HttpParty, InProcessParty, PartyError
from provlab.servers import free_port
from provlab.timetravel import travel_to
from tests.conftest import SIMULATION_TOKEN
from tests.support.jobs import add_noting_job, install_registry
from webcore.clock import app_clock
from webcore.job_declarations import JobContext, JobRegistry
from webcore.transport import in_process_session

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


def _asked(party: HttpParty) -> list[str]:
    """The simulation endpoints ``party`` calls from now on, in order."""
    asked: list[str] = []
    call = party._call

    def counting(method: str, path: str, *args: Any) -> dict[str, Any]:
        asked.append(path)
        return call(method, path, *args)

    party._call = counting  # type: ignore[method-assign]
    return asked


def _schedule(app: Flask, name: str, key: str, when: dt.datetime) -> None:
    with app.app_context():
        app.extensions["jobs"].schedule(name, when, key=key)
        app.extensions["sqlalchemy"].session.commit()


def _noting_registry(ran: list[tuple[str, str, dt.datetime]]) -> JobRegistry:
    registry = JobRegistry()
    add_noting_job(registry, "note", lambda c: ran.append((c.app.name, c.job_key, c.now)))
    return registry


def test_http_party_remembers_the_next_job_a_run_answered_until_told_to_forget_it(
    portal_app: Flask, live_server: Any
) -> None:
    install_registry(portal_app, _noting_registry([]))
    _schedule(portal_app, "note", "later", T0 + dt.timedelta(hours=7))
    party = HttpParty("portal", live_server(portal_app).url, SIMULATION_TOKEN)
    asked = _asked(party)

    assert party.run_due(T0 + dt.timedelta(hours=1)) == []
    assert party.next_due() == T0 + dt.timedelta(hours=7) and asked == ["run-due"]

    _schedule(portal_app, "note", "sooner", T0 + dt.timedelta(hours=2))
    party.forget_next_due()  # as time travel does once another party's job may have called it
    assert party.next_due() == T0 + dt.timedelta(hours=2) and asked == ["run-due", "next-job"]


def _portal_scheduling(portal_app: Flask, key: str, minutes: int) -> Any:
    """A stand-in for the portal's API as the instance's session reaches it: each call schedules
    the portal's job ``key`` ``minutes`` after the portal's clock, as a sync's call can."""

    def api(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        now = app_clock(portal_app).now()
        _schedule(portal_app, "note", key, now + dt.timedelta(minutes=minutes))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    return api


def test_http_time_travel_sees_what_another_partys_job_or_a_step_scheduled(
    portal_app: Flask, instance_app: Flask, live_server: Any
) -> None:
    ran: list[tuple[str, str, dt.datetime]] = []
    install_registry(portal_app, _noting_registry(ran))
    registry = _noting_registry(ran)
    portal_url = "http://portal.test"
    api = _portal_scheduling(portal_app, "called", 10)
    instance_app.extensions[SESSION_HOOK] = in_process_session(api, portal_url)

    @registry.job("call_portal")
    def call_portal(context: JobContext, args: dict[str, Any]) -> None:
        # As a sync's call would: the portal, idle until now, has work 10 minutes later.
        ran.append(("instance", context.job_key, context.now))
        portal_session(context.app).post(portal_url + "/api/v1/seat_links", json={})

    install_registry(instance_app, registry)
    _schedule(portal_app, "note", "p-05:00", T0 + dt.timedelta(hours=5))
    _schedule(instance_app, "call_portal", "i-01:00", T0 + dt.timedelta(hours=1))
    parties = [
        HttpParty("portal", live_server(portal_app).url, SIMULATION_TOKEN),
        HttpParty("instance", live_server(instance_app).url, SIMULATION_TOKEN),
    ]

    travel_to(parties, T0 + dt.timedelta(hours=3))
    _schedule(portal_app, "note", "step", T0 + dt.timedelta(hours=4))  # between two journeys
    travel_to(parties, T0 + dt.timedelta(hours=6))

    assert ran == [
        ("instance", "i-01:00", T0 + dt.timedelta(hours=1)),
        ("portal", "called", T0 + dt.timedelta(hours=1, minutes=10)),
        ("portal", "step", T0 + dt.timedelta(hours=4)),
        ("portal", "p-05:00", T0 + dt.timedelta(hours=5)),
    ]


def test_http_time_travel_asks_no_party_again_after_a_run_that_called_nobody(
    portal_app: Flask, instance_app: Flask, live_server: Any
) -> None:
    ran: list[tuple[str, str, dt.datetime]] = []
    install_registry(portal_app, _noting_registry(ran))
    install_registry(instance_app, _noting_registry(ran))
    _schedule(portal_app, "note", "p-05:00", T0 + dt.timedelta(hours=5))
    for hour in (1, 2, 3):  # clean-ups, mails: work that calls nobody
        _schedule(instance_app, "note", f"i-0{hour}:00", T0 + dt.timedelta(hours=hour))
    portal = HttpParty("portal", live_server(portal_app).url, SIMULATION_TOKEN)
    instance = HttpParty("instance", live_server(instance_app).url, SIMULATION_TOKEN)
    asked = {"portal": _asked(portal), "instance": _asked(instance)}

    travel_to([portal, instance], T0 + dt.timedelta(hours=6))

    assert [key for _, key, _ in ran] == ["i-01:00", "i-02:00", "i-03:00", "p-05:00"]
    # Each asked once, as every journey starts; from then on their own answers sufficed.
    assert asked["portal"].count("next-job") == asked["instance"].count("next-job") == 1
    assert not portal.called_out() and not instance.called_out()


def test_http_party_takes_an_app_that_does_not_say_for_one_that_called_out(
    portal_app: Flask, live_server: Any
) -> None:
    party = HttpParty("portal", live_server(portal_app).url, SIMULATION_TOKEN)
    party.run_due(T0 + dt.timedelta(minutes=1))
    assert not party.called_out()
    call = party._call

    def older_app(method: str, path: str, *args: Any) -> dict[str, Any]:
        answer = call(method, path, *args)
        answer.pop("called_out", None)  # as an app from before the field answers
        return answer

    party._call = older_app  # type: ignore[method-assign]
    party.run_due(T0 + dt.timedelta(minutes=2))
    assert party.called_out()


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
