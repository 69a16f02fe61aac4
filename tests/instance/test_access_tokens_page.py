"""A user's Access tokens page: any user creates a token (shown once), it works on the API with
its scopes, and revoking it on the page ends it."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.instance.conftest import add_user, csrf_token, sign_in

PATH = "/-/user_settings/personal_access_tokens"


def signed_in_dev(app: Flask) -> FlaskClient:
    """The browser of "dev", a regular user, signed in."""
    add_user(app, "dev")
    browser = app.test_client()
    sign_in(browser, "dev")
    return browser


def create_token(browser: FlaskClient, name: str) -> Any:
    """Submit the page's form for a read_api token named ``name``; the page's answer."""
    return browser.post(
        PATH,
        data={
            "csrf_token": csrf_token(browser, PATH),
            "name": name,
            "expires_at": "2026-04-01",
            "scopes": ["read_api"],
        },
    )


def test_a_regular_user_creates_uses_and_revokes_a_token(app: Flask) -> None:
    browser = signed_in_dev(app)
    assert "Access tokens" in browser.get("/dashboard").get_data(as_text=True)
    created = create_token(browser, "laptop")
    page = created.get_data(as_text=True)
    assert created.status_code == 201
    token = re.search(r'data-testid="new-token-value" size="60"|value="(glpat-[^"]+)"', page)
    assert token and token.group(1)
    secret = token.group(1)
    api = app.test_client()
    assert (
        api.get("/api/v4/user", headers={"PRIVATE-TOKEN": secret}).get_json()["username"] == "dev"
    )
    assert api.post("/api/v4/users", headers={"PRIVATE-TOKEN": secret}, json={}).status_code == 403
    listed = browser.get(PATH).get_data(as_text=True)
    assert "laptop" in listed and secret not in listed  # shown once only
    token_id = api.get(
        "/api/v4/personal_access_tokens/self", headers={"PRIVATE-TOKEN": secret}
    ).get_json()["id"]
    revoked = browser.post(
        f"{PATH}/{token_id}/revoke", data={"csrf_token": csrf_token(browser, PATH)}
    )
    assert revoked.status_code == 302
    assert api.get("/api/v4/user", headers={"PRIVATE-TOKEN": secret}).status_code == 401


def test_the_page_refuses_a_token_without_scopes_or_with_a_past_date(app: Flask) -> None:
    browser = signed_in_dev(app)
    for data, text in (
        ({"name": "x", "expires_at": "2026-04-01"}, "Select at least one scope."),
        ({"name": "x", "expires_at": "2026-01-01", "scopes": ["api"]}, "must be in the future"),
    ):
        answer = browser.post(PATH, data={"csrf_token": csrf_token(browser, PATH), **data})
        assert answer.status_code == 422 and text in answer.get_data(as_text=True)
    assert "no active personal access tokens" in browser.get(PATH).get_data(as_text=True)


def test_the_page_that_shows_a_new_token_is_never_cached(app: Flask) -> None:
    """The secret appears once, in the answer to the form: no browser or proxy may keep it."""
    browser = signed_in_dev(app)
    created = create_token(browser, "ci")
    assert created.status_code == 201
    assert "no-store" in created.headers["Cache-Control"]
