"""The Duo add-on purchase provisioned from the license, and automatic seat removal
(R1, R6, R28, R29)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from instance.models import User, UserState, db
from protocol.license import AddOnTier
from provlab.parties import InProcessParty
from provlab.timetravel import travel_to
from tests.instance.conftest import add_user
from tests.instance.fake_portal import FakePortal, Subscription
from tests.instance.helpers import (
    assigned_usernames,
    change_seats,
    purchase,
    sync_now,
    with_duo,
)
from webcore.clock import app_clock


def _users(app: Flask, count: int, prefix: str = "dev") -> list[int]:
    return [add_user(app, f"{prefix}_{n:02d}") for n in range(count)]


def _seats_assigned(
    admin_client: FlaskClient,
    app: Flask,
    fake_portal: FakePortal,
    seats: int,
    users: int,
    **duo: Any,
) -> tuple[Subscription, list[int]]:
    """GitLab Duo with ``seats`` seats (``with_duo``), assigned at once to ``users`` new users
    dev_00, dev_01…; the subscription and the users' ids."""
    subscription = with_duo(admin_client, fake_portal, seats, **duo)
    ids = _users(app, users)
    assert change_seats(admin_client, "assign", *ids)[0] == 200
    return subscription, ids


def _advance(app: Flask, **delta: float) -> None:
    app_clock(app).advance(dt.timedelta(**delta))  # type: ignore[attr-defined]


@pytest.mark.all_backends
def test_r1_r6_duo_enterprise_replaces_pro_and_keeps_assignments(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    subscription, _ = _seats_assigned(admin_client, app, fake_portal, 5, 3, tier=AddOnTier.DUO_PRO)
    fake_portal.duo(subscription, 8, tier=AddOnTier.DUO_ENTERPRISE, purchase_id="P-2")
    assert sync_now(admin_client)["success"]
    row = purchase(app)
    assert row is not None and row.tier == "duo_enterprise" and row.quantity == 8
    assert assigned_usernames(app) == {"dev_00", "dev_01", "dev_02"}
    with app.app_context():
        assert db.session.execute(db.text("SELECT count(*) FROM add_on_purchases")).scalar() == 1


@pytest.mark.all_backends
def test_r1_add_on_missing_from_license_expires_keeps_seats_28_days_and_comes_back(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    subscription, _ = _seats_assigned(admin_client, app, fake_portal, 5, 2)
    subscription.add_on_products = []
    assert sync_now(admin_client)["success"]
    expired = purchase(app)
    assert expired is not None and expired.ends_on == dt.date(2026, 3, 1)  # yesterday
    assert assigned_usernames(app) == {"dev_00", "dev_01"}  # kept, but inactive
    # Renewed within 28 days: the same seats count again.
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(days=20))
    fake_portal.duo(subscription, 5, purchase_id="P-renewed")
    assert sync_now(admin_client)["success"]
    assert assigned_usernames(app) == {"dev_00", "dev_01"}
    # Missing again, and 28 days pass: the clean-up deletes them.
    subscription.add_on_products = []
    assert sync_now(admin_client)["success"]
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(days=27))
    assert assigned_usernames(app) == {"dev_00", "dev_01"}
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(days=2))
    assert assigned_usernames(app) == set()


def _use_code_suggestions(app: Flask, username: str, at: dt.datetime) -> None:
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        user.code_suggestions_last_used_at = at
        db.session.commit()


@pytest.mark.all_backends
def test_r28_quantity_drop_removes_never_users_newest_first_then_least_recent_users(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    subscription = with_duo(admin_client, fake_portal, 50, seats=100)
    ids = _users(app, 50)
    for user_id in ids:  # one by one, a minute apart: assignment order is known
        _advance(app, minutes=1)
        assert change_seats(admin_client, "assign", user_id)[0] == 200
    start = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    # dev_00..dev_39 used Code Suggestions; dev_00 longest ago. dev_40..dev_49 never did.
    for n in range(40):
        _use_code_suggestions(app, f"dev_{n:02d}", start + dt.timedelta(hours=n))
    fake_portal.duo(subscription, 30)
    assert sync_now(admin_client)["success"]
    removed = {f"dev_{n:02d}" for n in range(50)} - assigned_usernames(app)
    never_used = {f"dev_{n:02d}" for n in range(40, 50)}
    least_recent = {f"dev_{n:02d}" for n in range(10)}
    assert removed == never_used | least_recent


def test_r28_never_users_most_recently_assigned_go_first(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    subscription = with_duo(admin_client, fake_portal, 4)
    ids = _users(app, 4)
    for user_id in ids:
        _advance(app, minutes=1)
        change_seats(admin_client, "assign", user_id)
    fake_portal.duo(subscription, 2)
    sync_now(admin_client)
    assert assigned_usernames(app) == {"dev_00", "dev_01"}


def test_r28_nothing_removed_when_assigned_seats_fit(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    subscription, _ = _seats_assigned(admin_client, app, fake_portal, 50, 20)
    fake_portal.duo(subscription, 30)
    sync_now(admin_client)
    assert len(assigned_usernames(app)) == 20


@pytest.mark.all_backends
def test_r29_clean_up_job_frees_seats_of_blocked_banned_and_deactivated_users(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    _, ids = _seats_assigned(admin_client, app, fake_portal, 4, 4)
    with app.app_context():
        for user_id, state in zip(
            ids[:3], [UserState.BLOCKED, UserState.BANNED, UserState.DEACTIVATED], strict=True
        ):
            db.session.get(User, user_id).state = state  # type: ignore[union-attr]
        db.session.commit()
    assert len(assigned_usernames(app)) == 4  # until the job runs
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(hours=13))
    assert assigned_usernames(app) == {"dev_03"}
    newcomer = add_user(app, "newcomer")
    status, page = change_seats(admin_client, "assign", newcomer)
    assert "newcomer" in assigned_usernames(app)


def test_r29_clean_up_runs_twice_a_day(app: Flask) -> None:
    travel = travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(days=2))
    runs = [run for run in travel.runs if run["name"] == "seat_cleanup"]
    assert [run["scheduled_for"][11:16] for run in runs] == ["00:30", "12:30", "00:30", "12:30"]
