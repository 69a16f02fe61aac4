"""Signing in to either app in tests: a user who can (``signed_up``, a fixture), the sign-in
form with its CSRF token, and whether a client is signed in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


@dataclass(frozen=True)
class Login:
    app: Flask
    login: str
    password: str
    home: str
    name: str


@pytest.fixture(params=["portal", "instance"])
def signed_up(request: pytest.FixtureRequest, make_portal: Any, make_instance: Any) -> Login:
    """A user who can sign in to the app (portal: a customer; instance: an administrator)."""
    if request.param == "portal":
        from portal import views as portal_views
        from portal.models import db as portal_db
        from portal.setup import DEMO_CUSTOMER, create_account

        app = make_portal()
        with app.app_context():
            account = create_account(
                DEMO_CUSTOMER.email,
                "Casey Customer",
                DEMO_CUSTOMER.password,
                DEMO_CUSTOMER.role,
                app,
            )
            portal_db.session.commit()
            home = _home(app, portal_views.home_endpoint(account))
        return Login(app, DEMO_CUSTOMER.email, DEMO_CUSTOMER.password, home, "Casey Customer")
    from instance import views as instance_views
    from instance.models import db as instance_db
    from tests.instance.conftest import ADMINISTRATOR, new_user

    app = make_instance()
    with app.app_context():
        admin = new_user(app, **ADMINISTRATOR)
        instance_db.session.commit()
        home = _home(app, instance_views.home_endpoint(admin))
    return Login(app, "root", "admin-demo-password", home, "Administrator")


def _home(app: Flask, endpoint: str) -> str:
    from flask import url_for

    with app.test_request_context():
        return url_for(endpoint)


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client: FlaskClient, path: str = "/users/sign_in") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no csrf_token field on {path}"
    return match.group(1) or match.group(2)


def sign_in(client: FlaskClient, login: str, password: str, query: str = "") -> Any:
    token = csrf_token(client)
    return client.post(
        f"/users/sign_in{query}", data={"csrf_token": token, "login": login, "password": password}
    )


def is_signed_in(client: FlaskClient, who: Login) -> bool:
    response = client.get(who.home)
    return response.status_code == 200 and who.name in response.get_data(as_text=True)
