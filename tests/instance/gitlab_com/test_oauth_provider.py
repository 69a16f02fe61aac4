"""GitLab.com as an OAuth 2 provider (Doorkeeper's authorization code grant) and the
Namespaces API its tokens read: the consent page, codes that work once, for one redirect URI
and client, PKCE, Doorkeeper's error codes with nothing written, and ``GET /namespaces``'
``owned_only`` / ``top_level_only`` as the Customers Portal asks them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from instance.gitlab_com.oauth_models import OauthAccessGrant, OauthAccessToken
from instance.models import db
from tests.instance.conftest import add_user, sign_in
from tests.instance.gitlab_com.conftest import group, member
from tests.instance.gitlab_com.oauth_flow import (
    REDIRECT,
    authorization_code,
    authorize_query,
    consent,
    exchange,
    refresh,
    register_portal,
)
from webcore.clock import app_clock

pytestmark = pytest.mark.all_backends


@pytest.fixture
def oauth_app(app: Flask) -> Flask:
    register_portal(app)
    add_user(app, "olga")
    add_user(app, "mira")
    add_user(app, "other")
    group(app, "acme")
    group(app, "platform", parent="acme")
    group(app, "mirasgroup")
    group(app, "elsewhere")
    member(app, "olga", "acme", "owner")
    member(app, "olga", "mirasgroup", "maintainer")
    member(app, "mira", "mirasgroup", "owner")
    member(app, "other", "elsewhere", "owner")
    member(app, "olga", "acme/platform", "owner")
    return app


def _signed_in(app: Flask, username: str = "olga") -> FlaskClient:
    client = app.test_client()
    sign_in(client, username)
    return client


def _rows(app: Flask) -> tuple[int, int]:
    with app.app_context():
        grants = db.session.execute(sa.select(sa.func.count(OauthAccessGrant.id))).scalar_one()
        tokens = db.session.execute(sa.select(sa.func.count(OauthAccessToken.id))).scalar_one()
        return grants, tokens


def test_authorize_needs_sign_in_then_shows_gitlabs_consent(oauth_app: Flask) -> None:
    anonymous = oauth_app.test_client()
    answer = anonymous.get("/oauth/authorize", query_string=authorize_query())
    assert answer.status_code == 302 and "/users/sign_in" in answer.headers["Location"]
    html, fields = consent(_signed_in(oauth_app))
    assert "Authorize Customers Portal to use your account?" in html
    assert "Deny" in html and "Authorize Customers Portal" in html
    assert fields["redirect_uri"] == REDIRECT and fields["state"] == "s-123"


def test_code_exchanged_once_for_a_token_that_reads_owned_top_level_groups(
    oauth_app: Flask,
) -> None:
    client = _signed_in(oauth_app)
    code = authorization_code(client)
    status, body = exchange(oauth_app.test_client(), code)
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 7200
    assert body["scope"] == "api" and body["refresh_token"]
    api = oauth_app.test_client()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    listed = api.get(
        "/api/v4/namespaces?owned_only=true&top_level_only=true", headers=headers
    ).get_json()
    # A Maintainer's group, the subgroup and another user's group are not listed.
    assert [item["full_path"] for item in listed] == ["acme"]
    assert listed[0]["kind"] == "group" and listed[0]["plan"] == "free"
    assert listed[0]["billable_members_count"] == 1 and listed[0]["trial"] is False
    every = api.get("/api/v4/namespaces", headers=headers).get_json()
    assert [item["full_path"] for item in every] == ["acme", "acme/platform", "mirasgroup"]
    assert "plan" not in every[2]  # the billing fields only for who administers it
    user = api.get("/api/v4/user", headers=headers)
    assert user.status_code == 200 and user.get_json()["username"] == "olga"
    assert api.get("/api/v4/namespaces/acme", headers=headers).get_json()["id"] == listed[0]["id"]
    hidden = api.get("/api/v4/namespaces/elsewhere", headers=headers)
    assert (hidden.status_code, hidden.get_json()) == (404, {"message": "404 Namespace Not Found"})
    # The code works once: Doorkeeper's invalid_grant, and no second token.
    before = _rows(oauth_app)
    status, again = exchange(oauth_app.test_client(), code)
    assert status == 400 and again["error"] == "invalid_grant"
    assert again["error_description"].startswith("The provided authorization grant is invalid")
    assert _rows(oauth_app) == before


def test_token_refused_for_wrong_secret_redirect_uri_or_missing_parameters(
    oauth_app: Flask,
) -> None:
    code = authorization_code(_signed_in(oauth_app))
    cases = [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "unknown"}, 401, "invalid_client"),
        ({"redirect_uri": REDIRECT + "/other"}, 400, "invalid_grant"),
        ({"code": ""}, 400, "invalid_request"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, 400, "invalid_request"),
    ]
    before = _rows(oauth_app)
    for extra, status, error in cases:
        got, body = exchange(oauth_app.test_client(), code, **extra)
        assert (got, body["error"]) == (status, error), extra
        assert set(body) == {"error", "error_description"}
    assert exchange(oauth_app.test_client(), code, code="")[1]["error_description"] == (
        "Missing required parameter: code."
    )
    assert _rows(oauth_app) == before
    # None of those used up the code.
    assert exchange(oauth_app.test_client(), code)[0] == 200


def test_authorize_errors_shown_or_sent_back_as_doorkeeper_does(oauth_app: Flask) -> None:
    client = _signed_in(oauth_app)
    for extra, text in (
        ({"client_id": "unknown"}, "Client authentication failed"),
        ({"redirect_uri": "http://evil.test/callback"}, "doesn&#39;t match client redirect"),
    ):
        page = client.get("/oauth/authorize", query_string=authorize_query(**extra))
        assert page.status_code == 400 and text in page.get_data(as_text=True)
        assert "Location" not in page.headers
    for extra, error in (
        ({"scope": "sudo"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": "x", "code_challenge_method": "md5"}, "invalid_code_challenge_method"),
    ):
        answer = client.get("/oauth/authorize", query_string=authorize_query(**extra))
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["error"] == [error] and query["state"] == ["s-123"]
    _, fields = consent(client)
    denied = client.post("/oauth/authorize", data=fields | {"_method": "delete"})
    query = parse_qs(urlsplit(denied.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and "code" not in query
    assert _rows(oauth_app) == (0, 0)


def test_pkce_code_needs_its_verifier(oauth_app: Flask) -> None:
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    client = _signed_in(oauth_app)
    code = authorization_code(client, code_challenge=challenge, code_challenge_method="S256")
    status, body = exchange(oauth_app.test_client(), code)
    assert (status, body["error"]) == (400, "invalid_request")
    status, body = exchange(oauth_app.test_client(), code, code_verifier="w" * 50)
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = exchange(oauth_app.test_client(), code, code_verifier=verifier)
    assert status == 200


def test_refresh_revokes_the_old_token_and_expired_tokens_are_refused(oauth_app: Flask) -> None:
    code = authorization_code(_signed_in(oauth_app))
    _, first = exchange(oauth_app.test_client(), code)
    refreshed = refresh(oauth_app.test_client(), first["refresh_token"])
    assert refreshed.status_code == 200
    api = oauth_app.test_client()
    old = api.get(
        "/api/v4/namespaces", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert old.status_code == 401 and old.get_json()["error"] == "invalid_token"
    # An OAuth token is a Bearer token only: not a PRIVATE-TOKEN.
    new = refreshed.get_json()["access_token"]
    assert api.get("/api/v4/namespaces", headers={"PRIVATE-TOKEN": new}).status_code == 401
    assert (
        api.get("/api/v4/namespaces", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    )
    # Two hours on the token has expired, and its refresh token still works (GitLab's docs).
    app_clock(oauth_app).advance(dt.timedelta(hours=2))
    expired = api.get("/api/v4/namespaces", headers={"Authorization": f"Bearer {new}"})
    assert (expired.status_code, expired.get_json()) == (
        401,
        {
            "error": "invalid_token",
            "error_description": (
                "Token is expired. You can either do re-authorization or token refresh."
            ),
        },
    )
    assert (
        refresh(oauth_app.test_client(), refreshed.get_json()["refresh_token"]).status_code == 200
    )


def test_namespaces_with_a_personal_access_token_and_for_an_administrator(
    oauth_app: Flask,
) -> None:
    from instance.models import User
    from instance.tokens import create_token

    with oauth_app.app_context():
        now = app_clock(oauth_app).now()
        users = {user.username: user for user in db.session.scalars(sa.select(User))}
        mira = create_token(users["mira"], "t", ["read_api"], now)
        users["other"].admin = True
        admin = create_token(users["other"], "t", ["api"], now)
        db.session.commit()
    api = oauth_app.test_client()
    owned = api.get("/api/v4/namespaces?owned_only=true", headers={"PRIVATE-TOKEN": mira})
    assert [item["full_path"] for item in owned.get_json()] == ["mirasgroup"]
    assert owned.headers["X-Total"] == "1"
    every = api.get("/api/v4/namespaces", headers={"PRIVATE-TOKEN": admin}).get_json()
    # An administrator sees every group, their own or not.
    assert [item["full_path"] for item in every] == [
        "acme",
        "acme/platform",
        "mirasgroup",
        "elsewhere",
    ]
    bad = api.get("/api/v4/namespaces?owned_only=maybe", headers={"PRIVATE-TOKEN": mira})
    assert (bad.status_code, bad.get_json()) == (400, {"error": "owned_only is invalid"})
    assert api.get("/api/v4/namespaces").status_code == 401


def test_an_oauth_token_is_not_a_personal_access_token(oauth_app: Flask) -> None:
    _, body = exchange(oauth_app.test_client(), authorization_code(_signed_in(oauth_app)))
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    answer = oauth_app.test_client().get("/api/v4/personal_access_tokens/self", headers=headers)
    assert answer.status_code == 404


def test_an_application_authorized_before_is_not_asked_again(oauth_app: Flask) -> None:
    client = _signed_in(oauth_app)
    assert exchange(oauth_app.test_client(), authorization_code(client))[0] == 200
    again = client.get("/oauth/authorize", query_string=authorize_query())
    assert again.status_code == 302  # no consent page: a code at once, and it works
    query = parse_qs(urlsplit(again.headers["Location"]).query)
    assert query["state"] == ["s-123"]
    assert exchange(oauth_app.test_client(), query["code"][0])[0] == 200
    # Other scopes than those authorized: asked again.
    assert (
        client.get("/oauth/authorize", query_string=authorize_query(scope="read_user")).status_code
        == 200
    )


def test_an_oauth_token_is_read_the_ways_doorkeeper_reads_one_for_gitlab(oauth_app: Flask) -> None:
    """GitLab's ``access_token_methods``: the ``access_token`` parameter, ``Authorization:
    Bearer`` and the ``bearer_token`` parameter; never ``PRIVATE-TOKEN`` or ``private_token``."""
    _, body = exchange(oauth_app.test_client(), authorization_code(_signed_in(oauth_app)))
    secret = str(body["access_token"])
    api = oauth_app.test_client()
    path, owned = "/api/v4/namespaces", {"owned_only": "true", "top_level_only": "true"}
    for query, headers in (
        ({"access_token": secret}, {}),
        ({"bearer_token": secret}, {}),
        ({}, {"Authorization": f"Bearer {secret}"}),
        # The access_token parameter is read first: a wrong Bearer header beside it is not read.
        ({"access_token": secret}, {"Authorization": "Bearer not-a-token"}),
    ):
        answer = api.get(path, query_string=owned | query, headers=headers)
        assert answer.status_code == 200, (query, headers, answer.get_json())
        assert [item["full_path"] for item in answer.get_json()] == ["acme"]
    for query, headers in (({"private_token": secret}, {}), ({}, {"PRIVATE-TOKEN": secret})):
        answer = api.get(path, query_string=owned | query, headers=headers)
        assert (answer.status_code, answer.get_json()) == (401, {"message": "401 Unauthorized"})
    # A form body's access_token counts as well (Rails' params): the token is read, so the
    # answer is about olga (not an administrator), not about a missing token.
    asked = api.post("/api/v4/users/1/personal_access_tokens", data={"access_token": secret})
    assert (asked.status_code, asked.get_json()) == (403, {"message": "403 Forbidden"})
    assert api.post("/api/v4/users/1/personal_access_tokens").status_code == 401
