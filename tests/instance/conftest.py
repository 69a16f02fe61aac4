"""Instance fixtures: an instance wired to a fake portal, signed-in clients, CSRF helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from instance.models import AccessLevel, User, db
from instance.portal_client import SESSION_HOOK
from instance.users import create_user
from tests.instance.fake_portal import PORTAL_URL, FakePortal
from webcore.clock import app_clock
from webcore.transport import in_process_session

PASSWORD = "correct-horse-battery"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|name="csrf-token" content="([^"]+)"')


def new_user(app: Flask, **fields: Any) -> User:
    """A user made by the instance's one ``create_user``, at the app's time."""
    return create_user(now=app_clock(app).now(), **fields)


@pytest.fixture
def fake_portal() -> FakePortal:
    return FakePortal()


@pytest.fixture
def make_wired_instance(
    make_instance: Callable[..., Flask], fake_portal: FakePortal
) -> Callable[..., Flask]:
    def make(**config: Any) -> Flask:
        config.setdefault("PORTAL_URL", PORTAL_URL)
        config.setdefault("PORTAL_TRANSPORT", "inprocess")
        config.setdefault("PORTAL_PUBLIC_KEYS", fake_portal.jwks)
        app = make_instance(**config)
        fake_portal.clock = app_clock(app)
        app.extensions[SESSION_HOOK] = in_process_session(fake_portal.app, PORTAL_URL)
        return app

    return make


@pytest.fixture
def app(make_wired_instance: Callable[..., Flask]) -> Flask:
    return make_wired_instance()


def add_user(app: Flask, username: str, **fields: Any) -> int:
    fields.setdefault("highest_access_level", AccessLevel.DEVELOPER)
    with app.app_context():
        user = new_user(
            app,
            username=username,
            email=f"{username}@example.com",
            name=fields.pop("name", username.replace("_", " ").title()),
            password=PASSWORD,
            **fields,
        )
        db.session.commit()
        return user.id


def user_id(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.execute(db.select(User.id).where(User.username == username)).scalar_one()


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1) or match.group(2)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_token(client, "/users/sign_in")
    response = client.post(
        "/users/sign_in", data={"login": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    add_user(app, "root", admin=True, highest_access_level=AccessLevel.OWNER)
    client = app.test_client()
    sign_in(client, "root")
    return client
