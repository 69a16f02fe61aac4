"""The shared app factory and data layer: factories never act, error pages, UTC datetimes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import StatementError

APPS = ["portal", "instance"]


def _create(app_name: str, config: dict[str, Any]) -> Flask:
    module = __import__(app_name, fromlist=["create_app"])
    return module.create_app(config, environ={})  # type: ignore[no-any-return]


@pytest.mark.parametrize("app_name", APPS)
def test_the_factory_wires_but_never_acts(app_name: str, tmp_path: Path) -> None:
    folder = tmp_path / "var" / app_name
    app = _create(app_name, {"INSTANCE_PATH": str(folder)})
    assert not (tmp_path / "var").exists()  # no folder, database, key or secret file yet
    assert app.instance_path == str(folder)
    assert app.config["DATABASE_URL"] == f"sqlite:///{folder / (app_name + '.db')}"
    assert app.config["SESSION_COOKIE_NAME"] == f"{app_name}_session"
    assert "jobs" in app.extensions and "clock" in app.extensions
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()


def test_the_two_apps_use_different_session_cookies(tmp_path: Path) -> None:
    # Both run on 127.0.0.1; cookies ignore ports, so one name would sign each other out.
    portal = _create("portal", {"INSTANCE_PATH": str(tmp_path / "p")})
    instance = _create("instance", {"INSTANCE_PATH": str(tmp_path / "i")})
    assert portal.config["SESSION_COOKIE_NAME"] != instance.config["SESSION_COOKIE_NAME"]


@pytest.mark.parametrize("app_name", APPS)
def test_api_and_dash_paths_answer_errors_in_json_and_pages_in_html(
    app_name: str, make_portal: Any, make_instance: Any
) -> None:
    app = (make_portal if app_name == "portal" else make_instance)()
    client = app.test_client()
    for path in ("/api/v1/no-such-thing", "/-/no-such-thing"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json() == {"error": response.get_json()["error"], "status": 404}
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.mimetype == "text/html" and "<html" in page.get_data(as_text=True)
    wants_json = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert wants_json.status_code == 404 and wants_json.get_json()["status"] == 404
    assert client.delete("/-/health").status_code == 405


@pytest.mark.all_backends
def test_datetimes_are_stored_and_read_as_aware_utc_on_every_backend(make_instance: Any) -> None:
    from instance.models import Job, db

    app = make_instance()
    paris = dt.timezone(dt.timedelta(hours=2))
    local = dt.datetime(2026, 3, 2, 5, 30, tzinfo=paris)
    with app.app_context():
        db.session.add(Job(name="x", key="tz", args={}, next_run_at=local, attempts=0))
        db.session.add(
            Job(
                name="x",
                key="tz-later",
                args={},
                next_run_at=dt.datetime(2026, 3, 2, 4, 0, tzinfo=dt.UTC),
                attempts=0,
            )
        )
        db.session.commit()
        db.session.expunge_all()
        stored = db.session.execute(sa.select(Job).filter_by(key="tz")).scalar_one()
        assert stored.next_run_at == local
        assert stored.next_run_at.utcoffset() == dt.timedelta(0)
        assert stored.next_run_at.hour == 3
        # Comparisons happen in UTC: 03:30Z is before 04:00Z although 05:30+02:00 "looks" later.
        ordered = (
            db.session.execute(
                sa.select(Job.key).where(Job.key.startswith("tz")).order_by(Job.next_run_at)
            )
            .scalars()
            .all()
        )
        assert ordered == ["tz", "tz-later"]
        due = (
            db.session.execute(
                sa.select(Job.key).where(
                    Job.next_run_at <= dt.datetime(2026, 3, 2, 3, 30, tzinfo=dt.UTC)
                )
            )
            .scalars()
            .all()
        )
        assert "tz" in due and "tz-later" not in due


@pytest.mark.all_backends
def test_a_naive_datetime_is_refused_on_write(make_instance: Any) -> None:
    from instance.models import Job, db

    app = make_instance()
    with app.app_context():
        db.session.add(
            Job(name="x", key="naive", args={}, next_run_at=dt.datetime(2026, 3, 2), attempts=0)
        )
        with pytest.raises(StatementError, match="naive datetime refused"):
            db.session.commit()
        db.session.rollback()
        assert db.session.execute(sa.select(Job).filter_by(key="naive")).first() is None


def test_each_made_app_gets_its_own_fresh_database_on_simulated_time(make_instance: Any) -> None:
    from instance.models import User, db
    from tests.instance.conftest import new_user

    first, second = make_instance(), make_instance()
    assert first.config["DATABASE_URL"] != second.config["DATABASE_URL"]
    with first.app_context():
        new_user(first, username="only-here", email="o@example.com", name="Only")
        db.session.commit()
    with second.app_context():
        assert db.session.execute(sa.select(User).filter_by(username="only-here")).first() is None
    from webcore.clock import app_clock, is_simulated

    assert is_simulated(first)
    assert app_clock(first).now() == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def test_prepare_keeps_a_configured_secret_key_and_stores_one_otherwise(tmp_path: Path) -> None:
    from portal import create_app
    from portal.setup import prepare

    configured = create_app(
        {"INSTANCE_PATH": str(tmp_path / "a"), "SECRET_KEY": "from-configuration"}, environ={}
    )
    prepare(configured)
    assert configured.config["SECRET_KEY"] == "from-configuration"
    assert not (tmp_path / "a" / "secret_key").exists()

    first = create_app({"INSTANCE_PATH": str(tmp_path / "b")}, environ={})
    prepare(first)
    stored = (tmp_path / "b" / "secret_key").read_text().strip()
    assert first.config["SECRET_KEY"] == stored
    again = create_app({"INSTANCE_PATH": str(tmp_path / "b")}, environ={})
    prepare(again)  # a second start (or a second worker) reuses the stored secret
    assert again.config["SECRET_KEY"] == stored
    assert (tmp_path / "b" / "secret_key").stat().st_mode & 0o777 == 0o600
