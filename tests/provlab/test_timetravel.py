"""Time travel: both parties' clocks move in lockstep through every due job, in global time order."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from flask import Flask

from protocol.clock import format_utc
from provlab.parties import InProcessParty, PartyError
from provlab.progress import TravelProgress
from provlab.timetravel import travel_to
from tests.support.jobs import add_noting_job, extend_registry, install_registry
from webcore.clock import app_clock
from webcore.job_declarations import JobContext, JobRegistry

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

Log = list[tuple[str, str, dt.datetime, dt.datetime]]


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def _recording_registry(
    log: Log, apps: dict[str, Flask], base: JobRegistry | None = None
) -> JobRegistry:
    registry = extend_registry(base) if base is not None else JobRegistry()

    def record(context: JobContext) -> None:
        me = context.app.name
        other = "instance" if me == "portal" else "portal"
        # Both clocks, read at run time: lockstep means the other party is at the same instant.
        log.append((me, context.job_key, app_clock(apps[me]).now(), app_clock(apps[other]).now()))

    add_noting_job(registry, "record", record)
    return registry


def _schedule(app: Flask, key: str, when: dt.datetime, **args: Any) -> None:
    with app.app_context():
        app.extensions["jobs"].schedule("record", when, key=key, args=args)
        app.extensions["sqlalchemy"].session.commit()


@pytest.fixture
def pair(portal_app: Flask, instance_app: Flask) -> tuple[dict[str, Flask], Log]:
    apps = {"portal": portal_app, "instance": instance_app}
    log: Log = []
    for app in apps.values():
        install_registry(app, _recording_registry(log, apps))
    return apps, log


def _parties(apps: dict[str, Flask]) -> list[InProcessParty]:
    return [InProcessParty(apps["portal"]), InProcessParty(apps["instance"])]


def test_travel_runs_every_due_job_of_both_apps_in_global_time_order_in_lockstep(
    pair: tuple[dict[str, Flask], Log],
) -> None:
    apps, log = pair
    portal, instance = apps["portal"], apps["instance"]
    _schedule(portal, "p-01:00", at(1))
    _schedule(instance, "i-02:00", at(2))
    _schedule(instance, "i-03:00", at(3))  # a tie: the portal runs first
    _schedule(portal, "p-03:00", at(3))
    _schedule(instance, "i-05:00", at(5), then_in_minutes=10)
    _schedule(portal, "p-06:00", at(6), then_in_minutes=30)
    _schedule(portal, "p-09:00", at(9))  # beyond the target

    journey = travel_to(_parties(apps), at(8))

    expected = [
        ("portal", "p-01:00", at(1)),
        ("instance", "i-02:00", at(2)),
        ("portal", "p-03:00", at(3)),
        ("instance", "i-03:00", at(3)),
        ("instance", "i-05:00", at(5)),
        ("instance", "i-05:00+10m", at(5) + dt.timedelta(minutes=10)),
        ("portal", "p-06:00", at(6)),
        ("portal", "p-06:00+30m", at(6.5)),
    ]
    assert [(app, key, now) for app, key, now, _ in log] == expected
    # Lockstep: a party with nothing due is already at the instant when the other's job runs.
    # At a tie the portal runs first, while the instance (its own job due at the instant) waits
    # a second before it, not where its last job left it: a call between them is fresh.
    lagging = [(app, key, other) for app, key, mine, other in log if mine != other]
    assert lagging == [("portal", "p-03:00", at(3) - dt.timedelta(seconds=1))]
    assert [(run["app"], run["key"], run["ran_at"]) for run in journey.runs] == [
        (app, key, format_utc(when)) for app, key, when in expected
    ]
    assert journey.started_at == T0 and journey.arrived_at == at(8)
    assert app_clock(portal).now() == at(8) and app_clock(instance).now() == at(8)
    with portal.app_context():
        assert portal.extensions["jobs"].earliest_due() == at(9)


def test_travel_starts_from_the_clock_that_is_ahead(pair: tuple[dict[str, Flask], Log]) -> None:
    apps, log = pair
    app_clock(apps["instance"]).set(at(4))  # type: ignore[attr-defined]
    _schedule(apps["portal"], "overdue", at(1))
    _schedule(apps["instance"], "i-05:00", at(5))

    journey = travel_to(_parties(apps), at(6))

    assert journey.started_at == at(4)
    # The portal's overdue job runs once both clocks agree: at the later clock's time.
    assert [(app, key, now) for app, key, now, _ in log] == [
        ("portal", "overdue", at(4)),
        ("instance", "i-05:00", at(5)),
    ]
    assert all(mine == other for _, _, mine, other in log)


def test_travelling_backwards_is_refused_and_changes_nothing(
    pair: tuple[dict[str, Flask], Log],
) -> None:
    apps, log = pair
    travel_to(_parties(apps), at(5))
    _schedule(apps["portal"], "p", at(6))

    with pytest.raises(ValueError, match="back in time"):
        travel_to(_parties(apps), at(4))

    assert log == []
    assert app_clock(apps["portal"]).now() == at(5) and app_clock(apps["instance"]).now() == at(5)


def test_travel_to_now_runs_what_is_due_now(pair: tuple[dict[str, Flask], Log]) -> None:
    apps, log = pair
    _schedule(apps["instance"], "now", T0)
    journey = travel_to(_parties(apps), T0)
    assert [key for _, key, _, _ in log] == ["now"]
    assert journey.arrived_at == T0


def test_an_app_on_real_time_cannot_take_part(make_portal: Any) -> None:
    with pytest.raises(PartyError, match="not on simulated time"):
        InProcessParty(make_portal(clock="real"))


def test_two_days_of_real_periodic_jobs_run_nonce_pruning_at_midnight_and_the_sync_in_its_slot(
    portal_app: Flask, instance_app: Flask
) -> None:
    from instance.identity import identity

    with instance_app.app_context():
        slot_minute = identity().sync_minute
    slot = dt.timedelta(hours=3, minutes=slot_minute)

    journey = travel_to([InProcessParty(portal_app), InProcessParty(instance_app)], at(48))

    ran_at = [run["ran_at"] for run in journey.runs]
    assert ran_at == sorted(ran_at)
    watched = [
        (run["app"], run["name"], run["ran_at"], run["outcome"])
        for run in journey.runs
        if run["name"] in ("prune_nonces", "daily_sync")
    ]
    assert watched == [
        ("instance", "daily_sync", format_utc(T0 + slot), "rescheduled"),
        ("portal", "prune_nonces", format_utc(at(24)), "rescheduled"),
        ("instance", "daily_sync", format_utc(at(24) + slot), "rescheduled"),
        ("portal", "prune_nonces", format_utc(at(48)), "rescheduled"),
    ]
    assert dt.timedelta(hours=3) <= slot < dt.timedelta(hours=5)
    with instance_app.app_context():
        pending = {job.name: job.next_run_at for job in instance_app.extensions["jobs"].pending()}
    assert pending["daily_sync"] == at(48) + slot
    assert app_clock(portal_app).now() == at(48) == app_clock(instance_app).now()


def test_travel_tells_its_progress_instant_by_instant(pair: tuple[dict[str, Flask], Log]) -> None:
    apps, _ = pair
    _schedule(apps["portal"], "p-01:00", at(1))
    _schedule(apps["instance"], "i-02:00", at(2))
    heard: list[tuple[dt.datetime, int]] = []

    travel_to(_parties(apps), at(3), lambda instant, runs: heard.append((instant, runs)))

    assert heard == [(at(1), 1), (at(2), 2), (at(3), 2)]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_elsewhere() -> None:
    plain = io.StringIO()
    progress = TravelProgress(at(0), at(100), plain)
    for hour in (5, 10, 55, 100):
        progress(at(hour), hour)
    progress.close()
    lines = plain.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == [f"{p}%" for p in range(10, 101, 10)]
    assert lines[-1].endswith("100 job runs") and format_utc(at(100)) in lines[-1]

    terminal = _Terminal()
    progress = TravelProgress(at(0), at(100), terminal)
    progress(at(50), 7)
    progress.close()
    drawn = terminal.getvalue()
    # One line redrawn in place (carriage returns), half the bar filled, the instant and the runs.
    assert "\n" not in drawn.rstrip("\n") and "\r" in drawn
    assert "Simulated time" in drawn and "50%" in drawn and "7 job runs" in drawn
