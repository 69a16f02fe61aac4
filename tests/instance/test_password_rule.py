"""The password rule (at least 8 characters) lives in ``webcore.auth.check_password``; the admin
form, the users API, the instance's one ``create_user``, ``change_password`` and the portal's
``create_account`` all refuse through it (its code), so no copy with its own wording can return."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from instance.models import User, db
from instance.users import create_user
from tests.instance.conftest import csrf_token
from tests.instance.test_api import token_for
from webcore.auth import PASSWORD_TOO_SHORT, change_password, check_password
from webcore.clock import app_clock
from webcore.errors import Refusal

SHORT = "seven77"


def _usernames(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.execute(db.select(User.username)).scalars())


def test_check_password_is_the_rule() -> None:
    check_password("eight888")
    for bad in (SHORT, "", None, 12345678):
        with pytest.raises(Refusal) as caught:
            check_password(bad)  # type: ignore[arg-type]
        assert caught.value.code == PASSWORD_TOO_SHORT
        assert caught.value.message == "Password is too short (minimum is 8 characters)"


def test_create_user_and_change_password_refuse_a_short_password(
    app: Flask, admin_client: FlaskClient
) -> None:
    with app.app_context():
        with pytest.raises(Refusal) as caught:
            create_user(
                username="shorty",
                email="s@example.com",
                name="S",
                now=app_clock(app).now(),
                password=SHORT,
            )
        assert caught.value.code == PASSWORD_TOO_SHORT
        root = db.session.execute(db.select(User).where(User.username == "root")).scalar_one()
        before = root.password_hash
        with pytest.raises(Refusal) as changed:
            change_password(root, SHORT)
        assert changed.value.code == PASSWORD_TOO_SHORT and root.password_hash == before


def test_admin_form_and_users_api_refuse_a_short_password(
    app: Flask, admin_client: FlaskClient
) -> None:
    form = {
        "csrf_token": csrf_token(admin_client, "/admin/users/new"),
        "username": "shorty",
        "email": "shorty@example.com",
        "name": "Shorty",
        "password": SHORT,
        "state": "active",
        "highest_access_level": "20",
    }
    page = admin_client.post("/admin/users/new", data=form)
    assert page.status_code == 422
    assert "Password is too short (minimum is 8 characters)" in page.get_data(as_text=True)

    token = token_for(app, "root")
    for password in (SHORT, "", 12345678):
        answer = admin_client.post(
            "/api/v4/users",
            json={
                "username": "shorty",
                "email": "shorty@example.com",
                "name": "S",
                "password": password,
            },
            headers={"PRIVATE-TOKEN": token},
        )
        assert answer.status_code == 400
        assert answer.get_json() == {
            "message": {"password": ["is too short (minimum is 8 characters)"]}
        }
    assert "shorty" not in _usernames(app)


def test_portal_accounts_follow_the_same_rule(portal_app: Flask) -> None:
    from portal.setup import create_account

    with portal_app.app_context():
        with pytest.raises(Refusal) as caught:
            create_account("p@example.com", "P", SHORT, "customer", portal_app)
    assert caught.value.code == PASSWORD_TOO_SHORT
