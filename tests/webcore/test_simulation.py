"""``/-/simulation/*`` (how the orchestrator moves a clock) and ``/-/health``, on both apps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from protocol.clock import format_utc
from tests.conftest import SIMULATION_TOKEN
from tests.support.jobs import add_noting_job, install_registry
from webcore.clock import app_clock
from webcore.job_declarations import JobRegistry
from webcore.transport import note_call_out

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
AUTH = {"Authorization": f"Bearer {SIMULATION_TOKEN}"}


@pytest.fixture(params=["portal", "instance"])
def make_app(request: pytest.FixtureRequest, make_portal: Any, make_instance: Any) -> Any:
    return make_portal if request.param == "portal" else make_instance


def _registry(ran: list[tuple[str, dt.datetime]]) -> JobRegistry:
    registry = JobRegistry()
    add_noting_job(registry, "note", lambda context: ran.append((context.job_key, context.now)))
    return registry


def _schedule(app: Flask, key: str, hours: float, **args: Any) -> None:
    with app.app_context():
        app.extensions["jobs"].schedule("note", T0 + dt.timedelta(hours=hours), key=key, args=args)
        app.extensions["sqlalchemy"].session.commit()


def test_simulation_endpoints_are_refused_on_a_real_clock(make_app: Any) -> None:
    client = make_app(clock="real").test_client()
    assert client.get("/-/simulation/next-job", headers=AUTH).status_code == 409
    response = client.post(
        "/-/simulation/run-due", json={"at": "2030-01-01T00:00:00Z"}, headers=AUTH
    )
    assert response.status_code == 409
    assert "simulated time" in response.get_json()["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {SIMULATION_TOKEN}x"},
        {"Authorization": "Bearer "},
        {"X-Simulation-Token": SIMULATION_TOKEN},
    ],
    ids=["none", "wrong", "longer", "empty", "other-header"],
)
def test_simulation_endpoints_need_the_simulation_token(
    make_app: Any, headers: dict[str, str]
) -> None:
    app = make_app()
    client = app.test_client()
    assert client.get("/-/simulation/next-job", headers=headers).status_code == 401
    response = client.post(
        "/-/simulation/run-due", json={"at": "2026-03-05T00:00:00Z"}, headers=headers
    )
    assert response.status_code == 401
    assert response.get_json() == {"error": "a valid simulation token is required"}
    assert app_clock(app).now() == T0


def test_simulation_endpoints_refuse_everyone_when_no_token_is_configured(make_app: Any) -> None:
    app = make_app(SIMULATION_TOKEN=None)
    client = app.test_client()
    assert client.get("/-/simulation/next-job").status_code == 401
    assert (
        client.get("/-/simulation/next-job", headers={"Authorization": "Bearer "}).status_code
        == 401
    )


def test_next_job_reports_the_clock_and_the_earliest_due_job(make_app: Any) -> None:
    app = make_app()
    install_registry(app, _registry([]))
    client = app.test_client()
    assert client.get("/-/simulation/next-job", headers=AUTH).get_json() == {
        "now": "2026-03-02T00:00:00Z",
        "next_run_at": None,
    }
    _schedule(app, "b", 7)
    _schedule(app, "a", 2.5)
    assert client.get("/-/simulation/next-job", headers=AUTH).get_json() == {
        "now": "2026-03-02T00:00:00Z",
        "next_run_at": "2026-03-02T02:30:00Z",
    }


def test_run_due_moves_the_clock_and_runs_due_jobs_in_time_order(make_app: Any) -> None:
    app = make_app()
    ran: list[tuple[str, dt.datetime]] = []
    install_registry(app, _registry(ran))
    _schedule(app, "third", 3)
    _schedule(app, "first", 1, then_in_minutes=0)
    _schedule(app, "later", 5)
    client = app.test_client()

    response = client.post(
        "/-/simulation/run-due", json={"at": "2026-03-02T04:00:00Z"}, headers=AUTH
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["now"] == "2026-03-02T04:00:00Z"
    assert app_clock(app).now() == T0 + dt.timedelta(hours=4)
    # Jobs run at the clock's time (the orchestrator steps through each due instant); work a run
    # schedules inside the window runs in the same call.
    assert [
        (run["key"], run["scheduled_for"], run["ran_at"], run["outcome"]) for run in body["ran"]
    ] == [
        ("first", "2026-03-02T01:00:00Z", "2026-03-02T04:00:00Z", "done"),
        ("third", "2026-03-02T03:00:00Z", "2026-03-02T04:00:00Z", "done"),
        ("first+0m", "2026-03-02T04:00:00Z", "2026-03-02T04:00:00Z", "done"),
    ]
    assert [key for key, _ in ran] == ["first", "third", "first+0m"]
    assert client.get("/-/simulation/next-job", headers=AUTH).get_json()["next_run_at"] == (
        "2026-03-02T05:00:00Z"
    )
    # The run's answer names the same next job, so the orchestrator need not ask for it.
    assert body["next_run_at"] == "2026-03-02T05:00:00Z"


def test_run_due_answers_the_next_job_a_side_effect_scheduled_after_the_run(
    make_app: Any,
) -> None:
    app = make_app()
    registry = JobRegistry()

    def plan_later(context: Any) -> None:
        # After the run's commit, in a transaction of its own, as a mail's delivery is planned.
        def schedule() -> None:
            app.extensions["jobs"].schedule("note", context.now + dt.timedelta(hours=2), key="x")
            app.extensions["sqlalchemy"].session.commit()

        context.after_commit(schedule)

    add_noting_job(registry, "note", plan_later)
    install_registry(app, registry)
    _schedule(app, "first", 1)
    client = app.test_client()

    body = client.post(
        "/-/simulation/run-due", json={"at": "2026-03-02T01:00:00Z"}, headers=AUTH
    ).get_json()

    assert [run["key"] for run in body["ran"]] == ["first"]
    assert body["next_run_at"] == "2026-03-02T03:00:00Z"
    nothing = client.post(
        "/-/simulation/run-due", json={"at": "2026-03-02T02:00:00Z"}, headers=AUTH
    ).get_json()
    assert nothing == {
        "now": "2026-03-02T02:00:00Z",
        "ran": [],
        "next_run_at": "2026-03-02T03:00:00Z",
        "called_out": False,
    }


def test_run_due_says_whether_the_app_called_another_party_meanwhile(make_app: Any) -> None:
    app = make_app()
    registry = _registry([])

    @registry.job("call")
    def call(context: Any, args: dict[str, Any]) -> None:
        note_call_out(context.app)  # as the session factories do for a sync or a push

    install_registry(app, registry)
    _schedule(app, "quiet", 1)
    with app.app_context():
        app.extensions["jobs"].schedule("call", T0 + dt.timedelta(hours=2), key="calling")
        app.extensions["sqlalchemy"].session.commit()
    client = app.test_client()

    def run_due(at: str) -> dict[str, Any]:
        answer: dict[str, Any] = client.post(
            "/-/simulation/run-due", json={"at": at}, headers=AUTH
        ).get_json()
        return answer

    quiet = run_due("2026-03-02T01:00:00Z")
    assert [run["key"] for run in quiet["ran"]] == ["quiet"] and quiet["called_out"] is False
    calling = run_due("2026-03-02T02:00:00Z")
    assert [run["key"] for run in calling["ran"]] == ["calling"] and calling["called_out"] is True
    assert run_due("2026-03-02T03:00:00Z")["called_out"] is False  # counted per run


def test_run_due_refuses_to_move_the_clock_backwards(make_app: Any) -> None:
    app = make_app()
    ran: list[tuple[str, dt.datetime]] = []
    install_registry(app, _registry(ran))
    client = app.test_client()
    assert (
        client.post(
            "/-/simulation/run-due", json={"at": "2026-03-03T00:00:00Z"}, headers=AUTH
        ).status_code
        == 200
    )
    _schedule(app, "past", 1)

    response = client.post(
        "/-/simulation/run-due", json={"at": "2026-03-02T12:00:00Z"}, headers=AUTH
    )

    assert response.status_code == 409
    assert "backwards" in response.get_json()["error"]
    assert app_clock(app).now() == T0 + dt.timedelta(days=1)
    assert ran == []


@pytest.mark.parametrize(
    "body",
    [
        None,
        "not json",
        [],
        {},
        {"at": 5},
        {"at": "tomorrow"},
        {"at": "2026-03-05T00:00:00+02:00"},
        {"at": "2026-03-05"},
    ],
    ids=["empty", "text", "list", "no-at", "number", "words", "other-offset", "date-only"],
)
def test_run_due_refuses_bad_bodies_and_changes_nothing(make_app: Any, body: Any) -> None:
    app = make_app()
    ran: list[tuple[str, dt.datetime]] = []
    install_registry(app, _registry(ran))
    _schedule(app, "due", 1)
    client = app.test_client()
    if isinstance(body, str):
        response = client.post(
            "/-/simulation/run-due", data=body, headers=AUTH, content_type="application/json"
        )
    elif body is None:
        response = client.post("/-/simulation/run-due", headers=AUTH)
    else:
        response = client.post("/-/simulation/run-due", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert app_clock(app).now() == T0 and ran == []


def test_health_answers_on_both_apps_with_the_clock_mode(make_app: Any) -> None:
    for clock, expected in (("simulated", "simulated"), ("real", "real")):
        app = make_app(clock=clock)
        response = app.test_client().get("/-/health")
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "ok" and body["database"] == "ok"
        assert body["app"] == app.name and body["clock"] == expected
        if clock == "simulated":
            assert body["now"] == format_utc(T0)


def test_health_reports_503_when_the_database_is_unreachable(tmp_path: Any) -> None:
    from instance import create_app

    app = create_app(
        {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db"},
        environ={},
    )
    response = app.test_client().get("/-/health")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()
