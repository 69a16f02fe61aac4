"""The Customers Portal's OAuth flow against GitLab.com, as the tests of the provider walk it:
register the portal's application, sign in, consent, take the code, exchange it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from instance.gitlab_com.oauth import register_application
from instance.models import db
from webcore.clock import app_clock

REDIRECT = "http://portal.test/customers/auth/gitlab/callback"
CLIENT_ID, SECRET = "portal-client-id", "gloas-portal-secret"


def register_portal(app: Flask) -> None:
    """The Customers Portal's application, as `provlab up` registers it (api, read_user)."""
    with app.app_context():
        register_application(
            "Customers Portal",
            REDIRECT,
            ("api", "read_user"),
            app_clock(app).now(),
            uid=CLIENT_ID,
            secret=SECRET,
        )
        db.session.commit()


def authorize_query(**extra: str) -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "s-123",
        "scope": "api",
    } | extra


def consent(client: FlaskClient, **extra: str) -> tuple[str, dict[str, str]]:
    page = client.get("/oauth/authorize", query_string=authorize_query(**extra))
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    forms = re.findall(r'<form[^>]*action="/oauth/authorize".*?</form>', html, re.S)
    form = forms[0]  # Authorize (Deny is the second)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    return html, fields


def authorization_code(client: FlaskClient, **extra: str) -> str:
    _, fields = consent(client, **extra)
    answer = client.post("/oauth/authorize", data=fields)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s-123"]
    return query["code"][0]


def exchange(client: FlaskClient, grant: str, **extra: str) -> tuple[int, dict[str, object]]:
    data = {
        "grant_type": "authorization_code",
        "code": grant,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    } | extra
    answer = client.post("/oauth/token", data=data)
    return answer.status_code, answer.get_json()


def refresh(client: FlaskClient, refresh_token: object, /, **extra: str | None) -> TestResponse:
    """``grant_type=refresh_token``, as the portal refreshes its token; ``extra`` adds fields or,
    given None, leaves one out."""
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    } | extra
    return client.post(
        "/oauth/token", data={key: value for key, value in data.items() if value is not None}
    )
