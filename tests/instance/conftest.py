"""Instance fixtures: an instance wired to a fake portal, signed-in clients, CSRF helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import gitlab
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from instance.models import AccessLevel, User, db
from instance.portal_client import SESSION_HOOK
from instance.users import create_user
from tests.instance.fake_portal import PORTAL_URL, FakePortal
from webcore.clock import app_clock
from webcore.transport import in_process_session

PASSWORD = "correct-horse-battery"
# The administrator `provlab up` seeds (instance.setup), for tests that sign in as it.
ADMINISTRATOR: dict[str, Any] = {
    "username": "root",
    "email": "admin@example.com",
    "name": "Administrator",
    "password": "admin-demo-password",
    "admin": True,
}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|name="csrf-token" content="([^"]+)"')


def new_user(app: Flask, **fields: Any) -> User:
    """A user made by the instance's one ``create_user``, at the app's time."""
    return create_user(now=app_clock(app).now(), **fields)


def instance_with_user(make_instance: Callable[..., Flask], **fields: Any) -> Flask:
    """A new instance holding one user more than its own, made from ``fields``."""
    app = make_instance()
    with app.app_context():
        new_user(app, **fields)
        db.session.commit()
    return app


def signed_in_session(base_url: str, login: str = "root") -> tuple[requests.Session, str]:
    """A browser of its own on a live instance, signed in as `login`, and a CSRF token for the
    admin pages."""
    session = requests.Session()
    session.trust_env = False
    match = CSRF.search(session.get(f"{base_url}/users/sign_in").text)
    assert match
    session.post(
        f"{base_url}/users/sign_in",
        data={"login": login, "password": PASSWORD, "csrf_token": match.group(1) or match.group(2)},
    )
    match = CSRF.search(session.get(f"{base_url}/admin/subscription").text)
    assert match
    return session, match.group(1) or match.group(2)


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
def server(app: Flask, admin_client: FlaskClient, live_server: Callable[[Flask], Any]) -> Any:
    """``app`` (its administrator root added) served on loopback."""
    return live_server(app)


@pytest.fixture
def client_for(server: Any) -> Iterator[Callable[[str], gitlab.Gitlab]]:
    """python-gitlab clients of ``server``, one per token; their connections closed afterwards
    (an idle keep-alive connection would hold the server's shutdown)."""
    opened: list[gitlab.Gitlab] = []

    def make(token: str) -> gitlab.Gitlab:
        gl = gitlab.Gitlab(server.url, private_token=token)
        gl.session.trust_env = False
        opened.append(gl)
        return gl

    yield make
    for gl in opened:
        gl.session.close()


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    add_user(app, "root", admin=True, highest_access_level=AccessLevel.OWNER)
    client = app.test_client()
    sign_in(client, "root")
    return client
