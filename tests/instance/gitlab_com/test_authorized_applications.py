"""GitLab.com's User settings → Applications: the applications a user authorized (the Customers
Portal), and *Revoke*, after which the application's token and refresh token are refused, as a
customer who unlinks the portal from the GitLab.com side expects."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from instance.gitlab_com.oauth_models import OauthAccessGrant, OauthAccessToken
from instance.models import db
from tests.instance.conftest import add_user, csrf_token, sign_in
from tests.instance.gitlab_com.oauth_flow import (
    authorization_code,
    exchange,
    refresh,
    register_portal,
)
from webcore.clock import app_clock

pytestmark = pytest.mark.all_backends

PAGE = "/-/user_settings/applications"


@pytest.fixture
def olga(app: Flask) -> FlaskClient:
    register_portal(app)
    add_user(app, "olga")
    add_user(app, "mira")
    client = app.test_client()
    sign_in(client, "olga")
    return client


def _linked(app: Flask, client: FlaskClient) -> dict[str, object]:
    """The portal's token pair for the signed-in user, as linking the account gets it."""
    status, body = exchange(app.test_client(), authorization_code(client))
    assert status == 200, body
    return body


def _revoke(client: FlaskClient, application_id: int, **form: str) -> int:
    data = {"csrf_token": csrf_token(client, PAGE), "_method": "delete"} | form
    return client.post(f"/oauth/authorized_applications/{application_id}", data=data).status_code


def _application_id(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(sa.select(OauthAccessToken.application_id).limit(1)).scalar_one()


def _in_force(app: Flask) -> tuple[int, int]:
    """Tokens and codes not revoked."""
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.execute(
                sa.select(sa.func.count()).select_from(model).where(model.revoked_at.is_(None))
            ).scalar_one()
            for model in (OauthAccessToken, OauthAccessGrant)
        )


def test_the_page_lists_what_the_user_authorized_once_per_application(
    app: Flask, olga: FlaskClient
) -> None:
    empty = olga.get(PAGE).get_data(as_text=True)
    assert "You don't have any authorized applications." in empty
    first = _linked(app, olga)
    app_clock(app).advance(
        dt.timedelta(hours=3)
    )  # the token expired: still authorized, as Doorkeeper lists it
    refreshed = refresh(app.test_client(), first["refresh_token"])
    assert refreshed.status_code == 200
    page = olga.get(PAGE).get_data(as_text=True)
    assert "Authorized applications" in page
    assert re.search(r'data-testid="crud-count">1<', page)
    rows = re.findall(r'<tr id="application_\d+">(.*?)</tr>', page, re.S)
    assert len(rows) == 1 and "Customers Portal" in rows[0] and "api" in rows[0]
    # Another user sees none of olga's.
    mira = app.test_client()
    sign_in(mira, "mira")
    assert "You don't have any authorized applications." in mira.get(PAGE).get_data(as_text=True)


def test_revoke_refuses_the_token_and_its_refresh_and_asks_consent_again(
    app: Flask, olga: FlaskClient
) -> None:
    pair = _linked(app, olga)
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    api = app.test_client()
    assert api.get("/api/v4/namespaces", headers=bearer).status_code == 200
    answer = olga.post(
        f"/oauth/authorized_applications/{_application_id(app)}",
        data={"csrf_token": csrf_token(olga, PAGE), "_method": "delete"},
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith(PAGE)
    page = olga.get(PAGE).get_data(as_text=True)
    assert "The application was revoked access." in page
    assert "You don't have any authorized applications." in page
    assert _in_force(app) == (0, 0)
    assert api.get("/api/v4/namespaces", headers=bearer).status_code == 401
    refused = refresh(api, pair["refresh_token"])
    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_grant")
    # Authorized no more: the consent page is shown again, not a code at once.
    assert authorization_code(olga)


def test_revoking_what_was_not_authorized_is_404_and_changes_nothing(
    app: Flask, olga: FlaskClient
) -> None:
    _linked(app, olga)
    application = _application_id(app)
    mira = app.test_client()
    sign_in(mira, "mira")
    assert _revoke(mira, application) == 404  # olga's authorization is not mira's to revoke
    assert _revoke(olga, application + 1) == 404  # no such application
    assert _revoke(olga, application, _method="put") == 404  # only DELETE is routed
    assert _in_force(app) == (1, 0)  # olga's token stands; her code was spent on linking
    anonymous = app.test_client()
    assert anonymous.get(PAGE).status_code == 302  # sign in first
    assert (
        anonymous.post(f"/oauth/authorized_applications/{application}").status_code
        in (302, 400)  # sign in first, or refused for want of a CSRF token
    )
    assert _in_force(app) == (1, 0)
