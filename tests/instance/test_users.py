"""Users and the billable count (R30); Admin → Users pages."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from instance.models import AccessLevel, User, UserState, db
from instance.users import billable_user_count
from protocol.license import Plan
from tests.instance.conftest import add_user, csrf_token
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import activated


def _population(app: Flask) -> None:
    add_user(app, "dev", highest_access_level=AccessLevel.DEVELOPER)
    add_user(app, "never_signed_in", highest_access_level=AccessLevel.NONE)
    add_user(app, "guest", highest_access_level=AccessLevel.GUEST)
    add_user(app, "blocked", state=UserState.BLOCKED)
    add_user(app, "banned", state=UserState.BANNED)
    add_user(app, "deactivated", state=UserState.DEACTIVATED)
    add_user(app, "service_account_ci", bot_type="service_account")
    add_user(app, "support_bot", bot_type="support_bot")
    add_user(app, "alert_bot", bot_type="alert_bot")
    add_user(app, "ghost", bot_type="ghost")


def _billable_users(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, plan: Plan
) -> int:
    """The billable count of the population on an instance activated on `plan`."""
    activated(admin_client, fake_portal, plan=plan)
    _population(app)
    with app.app_context():
        return billable_user_count()


@pytest.mark.all_backends
@pytest.mark.parametrize(
    ("plan", "billable", "path", "test_id"),
    [
        # root, dev, never_signed_in, guest, service_account_ci
        pytest.param(Plan.PREMIUM, 5, "/admin/subscription", "billable-users", id="premium"),
        # the same but for the guest
        pytest.param(Plan.ULTIMATE, 4, "/admin/users", "billable-count", id="ultimate"),
    ],
)
def test_r30_billable_users_include_service_accounts_and_guests_but_not_on_ultimate(
    admin_client: FlaskClient,
    app: Flask,
    fake_portal: FakePortal,
    plan: Plan,
    billable: int,
    path: str,
    test_id: str,
) -> None:
    assert _billable_users(admin_client, app, fake_portal, plan) == billable
    page = admin_client.get(path).get_data(as_text=True)
    assert f'data-testid="{test_id}">{billable}<' in page


@pytest.mark.all_backends
def test_r30_maximum_users_is_the_highest_daily_count(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    import datetime as dt

    from provlab.parties import InProcessParty
    from provlab.timetravel import travel_to
    from webcore.clock import app_clock

    activated(admin_client, fake_portal, plan=Plan.PREMIUM)
    ids = [add_user(app, f"temp_{n}") for n in range(3)]
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(hours=13))
    with app.app_context():
        for user_id in ids:
            db.session.get(User, user_id).state = UserState.BLOCKED  # type: ignore[union-attr]
        db.session.commit()
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(days=1))
    page = admin_client.get("/admin/subscription").get_data(as_text=True)
    assert 'data-testid="billable-users">1<' in page
    assert 'data-testid="maximum-users">4<' in page


def _new_user(client: FlaskClient, token: str, follow: bool = False, **form: str) -> Any:
    """Admin → Users → New user, an active Reporter unless `form` says otherwise."""
    return client.post(
        "/admin/users/new",
        data={"csrf_token": token, "state": "active", "highest_access_level": "20", **form},
        follow_redirects=follow,
    )


def test_admin_creates_and_edits_users(admin_client: FlaskClient, app: Flask) -> None:
    token = csrf_token(admin_client, "/admin/users/new")
    response = _new_user(
        admin_client,
        token,
        follow=True,
        username="newbie",
        email="newbie@example.com",
        name="New Bie",
        password="long-enough-password",
        bot_type="",
    )
    assert (
        response.status_code == 200
        and "User @newbie was successfully created." in response.get_data(as_text=True)
    )
    response = _new_user(
        admin_client, token, username="newbie", email="other@example.com", name="X"
    )
    assert response.status_code == 422 and "Username has already been taken" in response.get_data(
        as_text=True
    )
    response = _new_user(
        admin_client, token, username="odd", email="odd@example.com", name="Odd", state="frozen"
    )
    refusal = "State must be one of active, blocked, banned, deactivated"
    assert response.status_code == 422 and refusal in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == "newbie")).scalar_one()
        user_id = user.id
        assert user.highest_access_level == AccessLevel.REPORTER
        assert db.session.execute(db.select(db.func.count(User.id))).scalar() == 2
    response = admin_client.post(
        f"/admin/users/{user_id}/edit",
        data={
            "csrf_token": token,
            "name": "New Bie",
            "state": "blocked",
            "highest_access_level": "10",
            "bot_type": "",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "successfully updated" in page
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None and user.state == "blocked" and user.highest_access_level == 10


def test_sign_in_records_last_sign_in(admin_client: FlaskClient, app: Flask) -> None:
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "2026-03-02" in page  # root signed in on the simulated first day
    with app.app_context():
        root = db.session.execute(db.select(User).where(User.username == "root")).scalar_one()
        assert root.last_sign_in_at is not None
