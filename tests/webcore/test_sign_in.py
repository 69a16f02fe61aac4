"""Sign-in, sign-out and CSRF on both apps; who may sign in, and where it leads."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.support.auth import count_password_checks
from tests.webcore.sign_in_helpers import Login, csrf_token, is_signed_in, sign_in

# -- sign-in and sign-out --------------------------------------------------------------------------


def test_sign_in_with_the_right_password_opens_the_home_page(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    response = sign_in(client, signed_up.login, signed_up.password)
    assert response.status_code == 302
    assert response.headers["Location"] == signed_up.home
    with client.session_transaction() as session:
        assert session["_user_id"]
    assert is_signed_in(client, signed_up)


def test_sign_in_ignores_the_case_of_the_login(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    assert sign_in(client, signed_up.login.upper(), signed_up.password).status_code == 302


@pytest.mark.parametrize("which", ["wrong-password", "unknown-login", "empty-password"])
def test_sign_in_with_wrong_credentials_is_401_and_signs_nobody_in(
    signed_up: Login, which: str
) -> None:
    client = signed_up.app.test_client()
    login, password = {
        "wrong-password": (signed_up.login, "not-the-password"),
        "unknown-login": ("nobody@example.com", signed_up.password),
        "empty-password": (signed_up.login, ""),
    }[which]
    response = sign_in(client, login, password)
    if which == "empty-password":  # the form itself is invalid: shown again
        assert response.status_code == 200
    else:
        assert response.status_code == 401
        assert "Invalid login or password." in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert not is_signed_in(client, signed_up)
    assert client.get(signed_up.home).status_code == 302  # sent to sign in


def test_sign_out_needs_post_with_a_csrf_token(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    sign_in(client, signed_up.login, signed_up.password)

    assert client.get("/users/sign_out").status_code == 405
    assert client.post("/users/sign_out").status_code == 400
    assert client.post("/users/sign_out", data={"csrf_token": "forged"}).status_code == 400
    assert is_signed_in(client, signed_up)

    response = client.post(
        "/users/sign_out", data={"csrf_token": csrf_token(client, signed_up.home)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/users/sign_in"
    assert not is_signed_in(client, signed_up)


def test_sign_in_without_a_csrf_token_is_refused(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    response = client.post(
        "/users/sign_in", data={"login": signed_up.login, "password": signed_up.password}
    )
    assert response.status_code == 400
    assert not is_signed_in(client, signed_up)


def _post_form_paths(app: Flask) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()) or rule.rule.startswith(
            ("/-/", "/api/", "/static")
        ):
            continue
        if rule.rule == "/oauth/token":  # an OAuth client's call, authenticated by its secret
            continue
        paths.append(re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule))
    return sorted(paths)


def test_every_post_form_without_a_csrf_token_is_refused(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    sign_in(client, signed_up.login, signed_up.password)
    paths = _post_form_paths(signed_up.app)
    assert "/users/sign_in" in paths and "/users/sign_out" in paths
    refused = {path: client.post(path, data={"anything": "x"}).status_code for path in paths}
    assert refused == dict.fromkeys(paths, 400)
    assert is_signed_in(client, signed_up)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
    ],
)
def test_sign_in_refuses_an_open_redirect_in_next(signed_up: Login, target: str) -> None:
    from urllib.parse import quote

    client = signed_up.app.test_client()
    response = sign_in(client, signed_up.login, signed_up.password, f"?next={quote(target)}")
    assert response.status_code == 302
    assert response.headers["Location"] == signed_up.home


def test_sign_in_follows_a_local_next_path(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    response = sign_in(client, signed_up.login, signed_up.password, "?next=/-/health%3Fx%3D1")
    assert response.headers["Location"] == "/-/health?x=1"


def test_roles_required_sends_anonymous_users_to_sign_in_and_refuses_other_roles(
    make_portal: Any,
) -> None:
    from portal.models import db
    from portal.setup import DEMO_CUSTOMER, DEMO_SUPPORT, create_account
    from webcore.auth import roles_required

    app = make_portal()

    @app.get("/test/support-only")
    @roles_required("support")
    def support_only() -> str:
        return "support console"

    with app.app_context():
        for login in (DEMO_CUSTOMER, DEMO_SUPPORT):
            create_account(login.email, login.role.title(), login.password, login.role, app)
        db.session.commit()

    anonymous = app.test_client()
    response = anonymous.get("/test/support-only")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/users/sign_in?next=/test/support-only")

    customer = app.test_client()
    sign_in(customer, DEMO_CUSTOMER.email, DEMO_CUSTOMER.password)
    assert customer.get("/test/support-only").status_code == 403

    support = app.test_client()
    signed = sign_in(support, DEMO_SUPPORT.email, DEMO_SUPPORT.password, "?next=/test/support-only")
    assert signed.headers["Location"] == "/test/support-only"
    assert support.get("/test/support-only").get_data(as_text=True) == "support console"


@pytest.mark.parametrize(
    ("fields", "password"),
    [
        pytest.param(
            {"password": "blocked-password", "state": "blocked"}, "blocked-password", id="blocked"
        ),
        pytest.param({"bot_type": "support_bot"}, "anything", id="without-a-password"),
    ],
)
def test_a_blocked_user_or_one_without_a_password_cannot_sign_in_and_gets_a_clear_401(
    make_instance: Any, fields: dict[str, str], password: str
) -> None:
    from tests.instance.conftest import instance_with_user

    app = instance_with_user(
        make_instance, username="kept-out", email="kept-out@example.com", name="Kept Out", **fields
    )
    client = app.test_client()
    response = sign_in(client, "kept-out", password)
    assert response.status_code == 401
    assert "Invalid login or password." in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_an_unknown_login_costs_a_password_check_too(
    signed_up: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Answering an unknown login faster than a wrong password would tell who has an account.
    checks = count_password_checks(monkeypatch)
    client = signed_up.app.test_client()
    assert sign_in(client, "nobody@example.com", "guess-1").status_code == 401
    assert sign_in(client, signed_up.login, "guess-2").status_code == 401
    assert checks == ["guess-1", "guess-2"]
