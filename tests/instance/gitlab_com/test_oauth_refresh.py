"""GitLab.com's refresh grant as GitLab's Doorkeeper answers it: the old access token and its
refresh token revoked the moment the new pair is issued (GitLab has no
``previous_refresh_token`` column, so nothing waits for the new token's first use), the
request checked in ``RefreshTokenRequest``'s order with nothing written when refused, and
``scope`` narrowing the new token, never widening it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from instance.gitlab_com.oauth import DESCRIPTIONS, register_application
from instance.gitlab_com.oauth_models import OauthAccessToken
from instance.models import db
from tests.instance.conftest import add_user, sign_in
from tests.instance.gitlab_com.conftest import group, member
from tests.instance.gitlab_com.oauth_flow import (
    CLIENT_ID,
    REDIRECT,
    SECRET,
    authorization_code,
    exchange,
    refresh,
    register_portal,
)
from webcore.clock import app_clock

pytestmark = pytest.mark.all_backends

REVOKED = {
    "error": "invalid_token",
    "error_description": "Token was revoked. You have to re-authorize from the user.",
}
INVALID_GRANT = {"error": "invalid_grant", "error_description": DESCRIPTIONS["invalid_grant"]}


@pytest.fixture
def olga(app: Flask) -> FlaskClient:
    register_portal(app)
    add_user(app, "olga")
    group(app, "acme")
    member(app, "olga", "acme", "owner")
    client = app.test_client()
    sign_in(client, "olga")
    return client


def _pair(app: Flask, olga: FlaskClient, scope: str = "api") -> dict[str, str]:
    status, body = exchange(app.test_client(), authorization_code(olga, scope=scope))
    assert status == 200, body
    return {key: str(value) for key, value in body.items()}


def _namespaces(app: Flask, access_token: str) -> TestResponse:
    headers = {"Authorization": f"Bearer {access_token}"}
    return app.test_client().get("/api/v4/namespaces", headers=headers)


def _tokens(app: Flask) -> list[tuple[str, bool]]:
    """Every token row: its scopes and whether it is revoked, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(OauthAccessToken.scopes, OauthAccessToken.revoked_at.is_not(None)).order_by(
                OauthAccessToken.id
            )
        )
        return [(scopes, bool(revoked)) for scopes, revoked in rows]


def test_refreshing_revokes_the_old_pair_at_once(app: Flask, olga: FlaskClient) -> None:
    first = _pair(app, olga)
    assert _namespaces(app, first["access_token"]).status_code == 200
    refreshed = refresh(app.test_client(), first["refresh_token"])
    assert refreshed.status_code == 200
    second = refreshed.get_json()
    assert second["scope"] == "api" and second["refresh_token"] != first["refresh_token"]
    # Before the new token is ever used, the old access token is refused already...
    old = _namespaces(app, first["access_token"])
    assert (old.status_code, old.get_json()) == (401, REVOKED)
    assert old.headers["WWW-Authenticate"].startswith('Bearer realm="", error="invalid_token"')
    # ...and so is its refresh token, with nothing issued.
    assert _tokens(app) == [("api", True), ("api", False)]
    again = refresh(app.test_client(), first["refresh_token"])
    assert (again.status_code, again.get_json()) == (400, INVALID_GRANT)
    assert again.headers["Cache-Control"] == "no-store"
    assert _tokens(app) == [("api", True), ("api", False)]
    # The new pair works, and its refresh token is single use in turn.
    assert _namespaces(app, second["access_token"]).status_code == 200
    assert refresh(app.test_client(), second["refresh_token"]).status_code == 200
    assert _namespaces(app, second["access_token"]).get_json() == REVOKED


def test_refresh_is_checked_in_doorkeepers_order_and_refused_without_a_write(
    app: Flask, olga: FlaskClient
) -> None:
    with app.app_context():
        register_application(
            "Other app",
            "http://other.test/callback",
            ("api",),
            app_clock(app).now(),
            uid="other-client-id",
            secret="gloas-other-secret",
        )
        db.session.commit()
    pair = _pair(app, olga)
    cases: list[tuple[dict[str, str | None], int, str]] = [
        # The refresh token is read first: missing, unknown or revoked, whoever asks.
        ({"refresh_token": None, "client_secret": "wrong"}, 400, "invalid_request"),
        ({"refresh_token": "not-a-refresh-token", "client_secret": "wrong"}, 400, "invalid_grant"),
        # Then the client, when it tried to authenticate...
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_secret": None}, 401, "invalid_client"),
        ({"client_id": "unknown", "client_secret": SECRET}, 401, "invalid_client"),
        # ...and that the token is that client's: none, or another application, is not.
        ({"client_id": None, "client_secret": None}, 400, "invalid_grant"),
        (
            {"client_id": "other-client-id", "client_secret": "gloas-other-secret"},
            400,
            "invalid_grant",
        ),
    ]
    for extra, status, error in cases:
        answer = refresh(app.test_client(), pair["refresh_token"], **extra)
        assert (answer.status_code, answer.get_json()["error"]) == (status, error), extra
        assert ("WWW-Authenticate" in answer.headers) == (status == 401), extra
    missing = refresh(app.test_client(), pair["refresh_token"], refresh_token=None)
    assert missing.get_json()["error_description"] == "Missing required parameter: refresh_token."
    assert _tokens(app) == [("api", False)]
    assert _namespaces(app, pair["access_token"]).status_code == 200
    # HTTP Basic is as good as the form fields (Doorkeeper's from_basic, then from_params).
    basic = app.test_client().post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        auth=(CLIENT_ID, SECRET),
    )
    assert basic.status_code == 200, basic.get_json()


def test_a_refresh_narrows_the_scopes_and_never_widens_them(app: Flask, olga: FlaskClient) -> None:
    pair = _pair(app, olga, scope="api read_user")
    for wider in ("read_api", "api sudo", "api\tread_user"):
        answer = refresh(app.test_client(), pair["refresh_token"], scope=wider)
        assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid_scope"), wider
    assert _tokens(app) == [("api read_user", False)]
    # Blanks are no scope: the old token's scopes are kept.
    same = refresh(app.test_client(), pair["refresh_token"], scope="  ").get_json()
    assert same["scope"] == "api read_user"
    narrowed = refresh(app.test_client(), same["refresh_token"], scope="read_user read_user")
    assert narrowed.status_code == 200
    body = narrowed.get_json()
    assert body["scope"] == "read_user"
    refused = _namespaces(app, body["access_token"])
    assert (refused.status_code, refused.get_json()["error"]) == (403, "insufficient_scope")
    # Narrowed for good: the next refresh can't ask for api back.
    back = refresh(app.test_client(), body["refresh_token"], scope="api")
    assert (back.status_code, back.get_json()["error"]) == (400, "invalid_scope")
    assert refresh(app.test_client(), body["refresh_token"]).get_json()["scope"] == "read_user"


def test_a_refresh_keeps_only_the_scopes_the_application_still_has(
    app: Flask, olga: FlaskClient
) -> None:
    """No ``scope`` asked: the old token's scopes that the application still has (Doorkeeper's
    ``default_scopes & client_scopes``), as after the application was registered again."""
    pair = _pair(app, olga, scope="api read_user")
    with app.app_context():
        register_application(
            "Customers Portal",
            REDIRECT,
            ("read_user",),
            app_clock(app).now(),
            uid=CLIENT_ID,
            secret=SECRET,
        )
        db.session.commit()
    answer = refresh(app.test_client(), pair["refresh_token"])
    assert (answer.status_code, answer.get_json()["scope"]) == (200, "read_user")
