"""Sessions as a reviewer expects: they end on the server, their cookie is SameSite=Lax and
HttpOnly, and sign-in locks after GitLab's 10 failed attempts for 10 minutes (both apps)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webcore.sign_in_helpers import Login, csrf_token, is_signed_in, sign_in
from webcore.clock import app_clock

LOCKED = "Your account is locked."
INVALID = "Invalid login or password."


def _cookie_name(app: Flask) -> str:
    return str(app.config["SESSION_COOKIE_NAME"])


def _copy_of_session(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of ``client``'s session cookie (a stolen cookie)."""
    cookie = client.get_cookie(_cookie_name(app))
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(_cookie_name(app), cookie.value)
    return thief


def _user_of(who: Login) -> Any:
    if who.app.name == "portal":
        from portal.views import find_account

        return find_account(who.login)
    from instance.views import find_user

    return find_user(who.login)


def _db(app: Flask) -> Any:
    return app.extensions["sqlalchemy"]


# -- sessions end on the server --------------------------------------------------------------------


@pytest.mark.all_backends
def test_a_copied_session_cookie_no_longer_works_after_sign_out(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    sign_in(client, signed_up.login, signed_up.password)
    thief = _copy_of_session(signed_up.app, client)
    assert is_signed_in(thief, signed_up)  # the copy works while the session lasts

    token = csrf_token(client, signed_up.home)
    assert client.post("/users/sign_out", data={"csrf_token": token}).status_code == 302

    assert not is_signed_in(thief, signed_up)
    assert thief.get(signed_up.home).status_code == 302  # sent to sign in
    assert not is_signed_in(client, signed_up)
    # Signing in again works, with a new session the old copy still can't use.
    sign_in(client, signed_up.login, signed_up.password)
    assert is_signed_in(client, signed_up) and not is_signed_in(thief, signed_up)


def test_a_password_change_ends_every_session_of_the_user(signed_up: Login) -> None:
    from webcore.auth import change_password

    client = signed_up.app.test_client()
    sign_in(client, signed_up.login, signed_up.password)
    thief = _copy_of_session(signed_up.app, client)
    with signed_up.app.app_context():
        change_password(_user_of(signed_up), "a-brand-new-password")
        _db(signed_up.app).session.commit()

    assert not is_signed_in(client, signed_up)
    assert not is_signed_in(thief, signed_up)
    assert sign_in(client, signed_up.login, signed_up.password).status_code == 401
    assert sign_in(client, signed_up.login, "a-brand-new-password").status_code == 302


def _with_developer(make_instance: Any) -> Flask:
    """An instance with a regular user "dev" (password dev-password-1)."""
    from tests.instance.conftest import instance_with_user

    return instance_with_user(
        make_instance,
        username="dev",
        email="dev@example.com",
        name="Dev Eloper",
        password="dev-password-1",
    )


def _signed_in_developer(make_instance: Any) -> tuple[Flask, Login, FlaskClient]:
    """An instance with a regular user "dev", signed in on a browser of its own."""
    app = _with_developer(make_instance)
    who = Login(app, "dev", "dev-password-1", "/dashboard", "Dev Eloper")
    client = app.test_client()
    sign_in(client, who.login, who.password)
    return app, who, client


@pytest.mark.parametrize("state", ["blocked", "banned", "deactivated"])
def test_blocking_an_instance_user_ends_their_sessions_for_good(
    make_instance: Any, state: str
) -> None:
    from instance import users
    from instance.models import db

    app, who, client = _signed_in_developer(make_instance)
    thief = _copy_of_session(app, client)
    assert is_signed_in(thief, who)

    with app.app_context():
        users.change_state(users.find_by_username("dev"), state)
        db.session.commit()
    assert not is_signed_in(client, who) and not is_signed_in(thief, who)

    # Unblocking lets the user sign in again, but the sessions from before stay ended.
    with app.app_context():
        users.change_state(users.find_by_username("dev"), "active")
        db.session.commit()
    assert not is_signed_in(thief, who)
    assert sign_in(app.test_client(), who.login, who.password).status_code == 302


def test_a_session_of_an_inactive_user_is_refused_even_without_a_new_generation(
    make_instance: Any,
) -> None:
    from instance.models import User, db

    app, who, client = _signed_in_developer(make_instance)
    with app.app_context():  # a state written behind the app's back (a console, a script)
        db.session.execute(db.update(User).values(state="blocked"))
        db.session.commit()
    assert not is_signed_in(client, who)


def test_a_remember_me_cookie_from_before_sign_out_signs_nobody_in(signed_up: Login) -> None:
    from flask_login.utils import encode_cookie

    app = signed_up.app
    client = app.test_client()
    sign_in(client, signed_up.login, signed_up.password)
    with app.app_context():
        old_id = _user_of(signed_up).get_id()
    client.post("/users/sign_out", data={"csrf_token": csrf_token(client, signed_up.home)})
    with app.test_request_context():
        remember = encode_cookie(old_id)  # what Flask-Login would have set with remember=True
    forger = app.test_client()
    forger.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), remember)
    assert not is_signed_in(forger, signed_up)


@pytest.mark.parametrize("session_id", ["1", "1:x", ":0", "99999999999999999999:0", "1:-1", "²:0"])
def test_a_forged_or_old_style_session_id_signs_nobody_in(
    signed_up: Login, session_id: str
) -> None:
    client = signed_up.app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    assert not is_signed_in(client, signed_up)


# -- the session cookie ----------------------------------------------------------------------------


def _session_set_cookie(who: Login) -> str:
    client = who.app.test_client()
    response = sign_in(client, who.login, who.password)
    cookies = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(_cookie_name(who.app))
    ]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def test_the_session_cookie_is_samesite_lax_and_httponly_and_not_secure_on_http(
    signed_up: Login,
) -> None:
    cookie = _session_set_cookie(signed_up)
    assert "SameSite=Lax" in cookie
    assert "HttpOnly" in cookie
    assert "Secure" not in cookie


@pytest.mark.parametrize("app_name", ["portal", "instance"])
def test_secure_cookies_marks_the_session_cookie_secure(
    app_name: str, make_portal: Any, make_instance: Any
) -> None:
    app = (make_portal if app_name == "portal" else make_instance)(SECURE_COOKIES=True)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


# -- lockout after failed sign-ins -----------------------------------------------------------------


def _message(response: Any) -> str:
    text = response.get_data(as_text=True)
    return LOCKED if LOCKED in text else INVALID if INVALID in text else text


def _advance(app: Flask, minutes: float) -> None:
    app_clock(app).advance(dt.timedelta(minutes=minutes))  # type: ignore[attr-defined]


@pytest.mark.all_backends
def test_ten_failed_sign_ins_lock_the_account_for_ten_minutes(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    for attempt in range(1, 10):
        response = sign_in(client, signed_up.login, f"wrong-{attempt}")
        assert (response.status_code, _message(response)) == (401, INVALID), attempt
    tenth = sign_in(client, signed_up.login, "wrong-10")
    assert (tenth.status_code, _message(tenth)) == (401, LOCKED)

    eleventh = sign_in(client, signed_up.login, signed_up.password)  # the right password
    assert (eleventh.status_code, _message(eleventh)) == (401, LOCKED)
    assert not is_signed_in(client, signed_up)

    _advance(signed_up.app, 9.5)
    assert _message(sign_in(client, signed_up.login, signed_up.password)) == LOCKED
    _advance(signed_up.app, 0.5)  # ten minutes after the lock: it lifts by itself
    assert sign_in(client, signed_up.login, signed_up.password).status_code == 302
    assert is_signed_in(client, signed_up)


def test_a_successful_sign_in_resets_the_count(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    for round_ in range(2):
        for attempt in range(9):
            assert _message(sign_in(client, signed_up.login, f"wrong-{attempt}")) == INVALID
        assert sign_in(client, signed_up.login, signed_up.password).status_code == 302, round_


def test_a_lock_after_expiry_counts_from_zero_again(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    for attempt in range(10):
        sign_in(client, signed_up.login, f"wrong-{attempt}")
    _advance(signed_up.app, 10)
    assert _message(sign_in(client, signed_up.login, "wrong-again")) == INVALID
    assert sign_in(client, signed_up.login, signed_up.password).status_code == 302


def test_an_unknown_login_gets_the_same_answers_as_an_account(signed_up: Login) -> None:
    # Locking only real accounts would tell who has one: an unknown login locks the same way.
    client = signed_up.app.test_client()
    known = [_message(sign_in(client, signed_up.login, f"wrong-{n}")) for n in range(11)]
    unknown = [_message(sign_in(client, "nobody@example.com", f"wrong-{n}")) for n in range(11)]
    assert known == unknown == [INVALID] * 9 + [LOCKED] * 2


def test_the_lockout_counts_one_account_whichever_login_names_it(make_instance: Any) -> None:
    app = _with_developer(make_instance)
    client = app.test_client()
    for attempt in range(5):
        sign_in(client, "dev", f"wrong-{attempt}")
        sign_in(client, "DEV@example.com", f"wrong-{attempt}")
    assert _message(sign_in(client, "dev", "dev-password-1")) == LOCKED


def test_locking_one_account_leaves_others_alone(make_portal: Any) -> None:
    from tests.portal.helpers import PASSWORD, make_account

    app = make_portal()
    make_account(app, "one@example.com")
    make_account(app, "two@example.com")
    client = app.test_client()
    for attempt in range(10):
        sign_in(client, "one@example.com", f"wrong-{attempt}")
    assert _message(sign_in(client, "one@example.com", PASSWORD)) == LOCKED
    assert sign_in(client, "two@example.com", PASSWORD).status_code == 302


def test_ended_locks_are_dropped_so_sprayed_logins_do_not_pile_up(make_portal: Any) -> None:
    from portal.models import SignInLockout
    from tests.portal.helpers import count

    app = make_portal()
    client = app.test_client()
    for attempt in range(10):
        sign_in(client, "sprayed@example.com", f"wrong-{attempt}")
    assert count(app, SignInLockout) == 1
    _advance(app, 10)
    sign_in(client, "another@example.com", "wrong")
    assert count(app, SignInLockout) == 1  # the ended lock went, the new attempt counts
