"""The REST API as real GitLab clients meet it (python-gitlab over a loopback server): tokens for
every user with scopes, expiry and revocation; the user's state; boolean filters; Link headers;
``/user``, ``/version``, ``/metadata`` and ``/license``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import gitlab
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from instance.models import User, db
from instance.tokens import issue_token
from tests.instance.conftest import add_user
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import activated
from webcore.clock import app_clock


def issue(app: Flask, username: str, scopes: list[str], days: int | None = None) -> str:
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        now = app_clock(app).now()
        expires = now.date() + dt.timedelta(days=days) if days else None
        secret = issue_token(user, "tests", scopes, now, expires_on=expires)[1]
        db.session.commit()
        return secret


def test_an_admin_creates_lists_and_revokes_a_users_token_with_python_gitlab(
    app: Flask, client_for: Callable[[str], gitlab.Gitlab]
) -> None:
    dev_id = add_user(app, "dev")
    admin = client_for(issue(app, "root", ["api"]))
    created = admin.users.get(dev_id).personal_access_tokens.create(
        {"name": "ci", "scopes": ["read_api"], "expires_at": "2026-06-01"}
    )
    assert created.token.startswith("glpat-") and created.scopes == ["read_api"]
    assert created.expires_at == "2026-06-01" and created.active and not created.revoked
    dev = client_for(created.token)
    assert dev.personal_access_tokens.get("self").name == "ci"
    assert [t.name for t in dev.personal_access_tokens.list()] == ["ci"]
    assert {t.user_id for t in admin.personal_access_tokens.list(get_all=True)} >= {dev_id}
    assert [t.id for t in admin.personal_access_tokens.list(user_id=dev_id)] == [created.id]
    admin.personal_access_tokens.delete(created.id)
    with pytest.raises(gitlab.GitlabAuthenticationError) as revoked:
        dev.users.list()
    assert revoked.value.error_message == "invalid_token"
    assert b"Token was revoked. You have to re-authorize from the user." in (
        revoked.value.response_body or b""
    )
    assert not admin.personal_access_tokens.get(created.id).active
    assert [t.id for t in admin.personal_access_tokens.list(user_id=dev_id, state="active")] == []


def test_token_creation_refuses_bad_scopes_and_dates_and_non_admins(
    app: Flask, client_for: Callable[[str], gitlab.Gitlab]
) -> None:
    dev_id = add_user(app, "dev")
    admin = client_for(issue(app, "root", ["api"]))
    tokens = admin.users.get(dev_id, lazy=True).personal_access_tokens
    for fields, text in [
        ({"name": "x", "scopes": ["sudo"]}, "scopes does not have a valid value"),
        ({"name": "x", "scopes": ["api"], "expires_at": "2026-02-01"}, "must be in the future"),
        ({"name": "x", "scopes": ["api"], "expires_at": "2030-01-01"}, "must be before"),
        ({"name": "x", "scopes": ["api"], "expires_at": "soon"}, "expires_at is invalid"),
    ]:
        with pytest.raises(gitlab.GitlabCreateError) as refused:
            tokens.create(fields)
        assert refused.value.response_code == 400 and text in str(refused.value.error_message)
    dev = client_for(issue(app, "dev", ["api"]))
    with pytest.raises(gitlab.GitlabCreateError) as forbidden:
        dev.users.get(dev_id, lazy=True).personal_access_tokens.create(
            {"name": "x", "scopes": ["api"]}
        )
    assert forbidden.value.response_code == 403
    # Without an expiry date, GitLab's maximum lifetime (365 days) applies.
    default = tokens.create({"name": "default", "scopes": ["api"]})
    assert default.expires_at == "2027-03-02"  # simulated today: 2026-03-02


def test_an_expired_token_is_refused_as_gitlab_refuses_it(
    app: Flask, client_for: Callable[[str], gitlab.Gitlab]
) -> None:
    from provlab.parties import InProcessParty
    from provlab.timetravel import travel_to

    add_user(app, "dev")
    token = issue(app, "dev", ["api"], days=2)
    dev = client_for(token)
    assert dev.users.list(username="dev")
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(days=2))
    with pytest.raises(gitlab.GitlabAuthenticationError) as expired:
        dev.users.list()
    assert expired.value.response_code == 401
    assert b"Token is expired." in (expired.value.response_body or b"")


def test_scopes_are_enforced_read_api_cannot_write(
    app: Flask, server: Any, client_for: Callable[[str], gitlab.Gitlab]
) -> None:
    reader = client_for(issue(app, "root", ["read_api"]))
    assert reader.users.list(username="root")[0].username == "root"
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        reader.users.create({"email": "a@example.com", "username": "a", "name": "A"})
    assert refused.value.response_code == 403
    answer = requests.post(
        f"{server.url}/api/v4/users",
        headers={"PRIVATE-TOKEN": issue(app, "root", ["read_api"])},
        json={"email": "a@example.com", "username": "a", "name": "A"},
        timeout=10,
    )
    assert answer.json() == {
        "error": "insufficient_scope",
        "error_description": (
            "The request requires higher privileges than provided by the access token."
        ),
        "scope": "api",
    }
    profile_only = client_for(issue(app, "root", ["read_user"]))
    assert profile_only.users.get(1).username == "root"  # /users is read_user's
    with pytest.raises(gitlab.GitlabError) as no_license:
        profile_only.get_license()
    assert no_license.value.response_code == 403


def test_a_blocked_users_token_is_refused_with_gitlabs_message(
    app: Flask, client_for: Callable[[str], gitlab.Gitlab]
) -> None:
    dev_id = add_user(app, "dev")
    dev = client_for(issue(app, "dev", ["api"]))
    dev.auth()
    assert dev.user is not None and dev.user.username == "dev"
    client_for(issue(app, "root", ["api"])).users.get(dev_id).block()
    with pytest.raises(gitlab.GitlabError) as blocked:
        dev.auth()
    assert blocked.value.response_code == 403
    assert blocked.value.error_message == "403 Forbidden - Your account has been blocked."


def test_the_token_in_each_place_gitlab_reads_it(app: Flask, server: Any) -> None:
    token = issue(app, "root", ["read_api"])
    session = requests.Session()
    session.trust_env = False
    for kwargs in (
        {"headers": {"PRIVATE-TOKEN": token}},
        {"headers": {"Authorization": f"Bearer {token}"}},
        {"params": {"private_token": token}},
    ):
        assert (
            session.get(f"{server.url}/api/v4/user", timeout=10, **kwargs).json()["username"]
            == "root"
        )
    assert session.get(f"{server.url}/api/v4/user", timeout=10).status_code == 401
    session.close()


def test_boolean_filters_and_link_headers_keep_the_request_filters(
    app: Flask, server: Any, client_for: Callable[[str], gitlab.Gitlab]
) -> None:
    admin = client_for(issue(app, "root", ["api"]))
    for n in range(5):
        admin.users.get(add_user(app, f"blocked_{n}")).block()
    add_user(app, "active_one")
    assert {u.username for u in admin.users.list(blocked=True, get_all=True)} == {
        f"blocked_{n}" for n in range(5)
    }
    paged = admin.users.list(blocked=True, per_page=2, iterator=True)
    assert len(list(paged)) == 5  # python-gitlab follows rel="next" with the filter kept
    answer = requests.get(
        f"{server.url}/api/v4/users",
        params={"blocked": "1", "per_page": 2, "page": 2},
        headers={"PRIVATE-TOKEN": issue(app, "root", ["read_api"])},
        timeout=10,
    )
    links = answer.links
    assert set(links) == {"prev", "next", "first", "last"}
    assert all("blocked=1" in link["url"] for link in links.values())
    assert "page=3" in links["next"]["url"] and "page=3" in links["last"]["url"]


def test_user_version_metadata_and_license(
    app: Flask,
    admin_client: FlaskClient,
    fake_portal: FakePortal,
    client_for: Callable[[str], gitlab.Gitlab],
) -> None:
    admin = client_for(issue(app, "root", ["api"]))
    assert admin.version() == ("17.5.0-ee", "provlab")
    metadata = admin.http_get("/metadata")
    assert metadata["enterprise"] is True and metadata["version"] == "17.5.0-ee"
    admin.auth()
    assert admin.user is not None and admin.user.is_admin
    assert admin.get_license() == {}  # no license yet: GitLab answers null
    activated(admin_client, fake_portal, seats=10)
    add_user(app, "dev")
    found = admin.get_license()
    assert found["plan"] == "ultimate" and found["user_limit"] == 10
    assert found["active_users"] == 2 and found["overage"] == 0 and found["expired"] is False
    assert set(found) >= {"starts_at", "expires_at", "historical_max", "maximum_user_count"}
    dev = client_for(issue(app, "dev", ["api"]))
    with pytest.raises(gitlab.GitlabError) as forbidden:
        dev.get_license()
    assert forbidden.value.response_code == 403
